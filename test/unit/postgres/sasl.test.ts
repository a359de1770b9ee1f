import { describe, expect, it } from 'bun:test';
import { ChannelBindingFilter, readSaslInitialResponse, readSaslMechanisms, withoutChannelBinding } from '../../../src/postgres/wire/sasl.ts';
import { SSL_REQUEST } from '../../../src/postgres/wire/messages.ts';
import { concat, pgCstr, pgMessage, pgStartupMessage } from '../../support/bytes.ts';

/** AuthenticationSASL (int32 10, then the names as cstrs, then an empty one), body only. */
function saslBody(...names: string[]): Uint8Array {
  return Uint8Array.from([0, 0, 0, 10, ...names.flatMap(pgCstr), 0]);
}

/** SASLInitialResponse body: mechanism cstr, int32 length, data. */
function initialResponse(mechanism: string, data: string | null): Uint8Array {
  const bytes = data === null ? [] : [...Buffer.from(data)];
  const len = data === null ? -1 : bytes.length;
  return Uint8Array.from([...pgCstr(mechanism), (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...bytes]);
}

describe('postgres/wire/sasl', () => {
  it('reads the mechanisms of AuthenticationSASL, and nothing from another authentication request', () => {
    expect(readSaslMechanisms(saslBody('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'))).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    expect(readSaslMechanisms(Uint8Array.of(0, 0, 0, 5, 1, 2, 3, 4))).toBeNull();
    expect(readSaslMechanisms(Uint8Array.of(0, 0, 0, 0))).toBeNull();
  });

  it('removes SCRAM-SHA-256-PLUS and re-frames the message with the right length', () => {
    const rewritten = withoutChannelBinding(saslBody('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'));
    expect(rewritten).toEqual(pgMessage('R', saslBody('SCRAM-SHA-256')));
  });

  it('keeps the order of the other mechanisms, wherever -PLUS stood', () => {
    const rewritten = withoutChannelBinding(saslBody('SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'X-OTHER'));
    expect(rewritten).toEqual(pgMessage('R', saslBody('SCRAM-SHA-256', 'X-OTHER')));
  });

  it('leaves a list without channel binding alone (null: relay the original bytes)', () => {
    expect(withoutChannelBinding(saslBody('SCRAM-SHA-256'))).toBeNull();
    expect(withoutChannelBinding(Uint8Array.of(0, 0, 0, 11, 0x72, 0x3d))).toBeNull();
  });

  it("reads the GS2 flag of a SCRAM client-first-message: n, y (could bind, thinks the server cannot) and p", () => {
    expect(readSaslInitialResponse(initialResponse('SCRAM-SHA-256', 'n,,n=,r=abc'))).toEqual({ mechanism: 'SCRAM-SHA-256', gs2Flag: 'n' });
    expect(readSaslInitialResponse(initialResponse('SCRAM-SHA-256', 'y,,n=,r=abc'))).toEqual({ mechanism: 'SCRAM-SHA-256', gs2Flag: 'y' });
    expect(readSaslInitialResponse(initialResponse('SCRAM-SHA-256-PLUS', 'p=tls-server-end-point,,n=,r=abc'))?.gs2Flag).toBe('p');
  });

  it('gives no flag for absent data and null for a body without a mechanism terminator', () => {
    expect(readSaslInitialResponse(initialResponse('SCRAM-SHA-256', null))).toEqual({ mechanism: 'SCRAM-SHA-256', gs2Flag: '' });
    expect(readSaslInitialResponse(Uint8Array.from(Buffer.from('SCRAM-SHA-256')))).toBeNull();
  });

  it('sends the SSLRequest libpq sends: length 8, code 80877103', () => {
    expect(SSL_REQUEST).toEqual(pgStartupMessage(80877103));
  });

  describe('ChannelBindingFilter', () => {
    const notice = pgMessage('N', [0x53, ...pgCstr('NOTICE'), 0]);
    const offer = pgMessage('R', saslBody('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'));
    const md5 = pgMessage('R', [0, 0, 0, 5, 1, 2, 3, 4]);
    const stream = concat(notice, offer, md5);
    const expected = concat(notice, pgMessage('R', saslBody('SCRAM-SHA-256')), md5);

    function run(chunks: Uint8Array[]): { out: Uint8Array; hasHidden: boolean } {
      const filter = new ChannelBindingFilter();
      const parts: Uint8Array[] = [];
      for (const chunk of chunks) filter.push(chunk, 0, chunk.length, (b, start, end) => parts.push(Uint8Array.from(b.subarray(start, end))));
      return { out: concat(...parts), hasHidden: filter.hasHidden };
    }

    it('rewrites the offer and relays the messages around it unchanged, in one chunk', () => {
      expect(run([stream])).toEqual({ out: expected, hasHidden: true });
    });

    it('gives the same bytes at every split point of the stream', () => {
      for (let cut = 1; cut < stream.length; cut++) {
        expect(run([stream.subarray(0, cut), stream.subarray(cut)]).out, `split at ${cut}`).toEqual(expected);
      }
    });

    it('gives the same bytes when the stream arrives one byte at a time', () => {
      expect(run([...stream].map((b) => Uint8Array.of(b))).out).toEqual(expected);
    });

    it('relays a stream without a -PLUS offer as it came', () => {
      const plain = concat(notice, pgMessage('R', saslBody('SCRAM-SHA-256')), md5);
      expect(run([plain])).toEqual({ out: plain, hasHidden: false });
    });
  });
});
