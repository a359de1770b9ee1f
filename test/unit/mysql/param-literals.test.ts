import { describe, expect, it } from 'bun:test';
import { isLiteralSafeCharset, placeholderOffsets, renderParameters } from '../../../src/mysql/param-literals.ts';

const text = (bytes: Uint8Array[] | null): string[] | null => bytes?.map((b) => Buffer.from(b).toString('latin1')) ?? null;

/** A COM_STMT_EXECUTE payload built by hand: types are [type, flags] pairs, values raw bytes, nulls by index. */
function execute(types: [number, number][], values: number[][], nulls: number[] = [], sendTypes = true): Uint8Array {
  const bitmap = new Array((types.length + 7) >> 3).fill(0);
  for (const i of nulls) bitmap[i >> 3] |= 1 << (i & 7);
  return Uint8Array.from([
    0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, ...bitmap, sendTypes ? 1 : 0,
    ...(sendTypes ? types.flat() : []),
    ...values.flat(),
  ]);
}

const lenenc = (s: string | number[]): number[] => {
  const bytes = typeof s === 'string' ? [...Buffer.from(s, 'utf8')] : s;
  return [bytes.length, ...bytes];
};

describe('renderParameters', () => {
  it('renders signed and unsigned integers of every width', () => {
    const payload = execute(
      [[0x01, 0], [0x01, 0x80], [0x02, 0], [0x03, 0], [0x03, 0x80], [0x08, 0], [0x08, 0x80]],
      [[0xff], [0xff], [0xfe, 0xff], [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    );
    expect(text(renderParameters(payload, 7, null, true))).toEqual(['-1', '255', '-2', '-1', '4294967295', '-1', '18446744073709551615']);
  });

  it('renders doubles as exact DOUBLE literals and refuses non-finite ones', () => {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, 0.1, true);
    const tenth = [...new Uint8Array(buf.buffer)];
    buf.setFloat64(0, 5, true);
    const five = [...new Uint8Array(buf.buffer)];
    expect(text(renderParameters(execute([[0x05, 0], [0x05, 0]], [tenth, five]), 2, null, true))).toEqual(['0.1e0', '5e0']);
    buf.setFloat64(0, Infinity, true);
    expect(renderParameters(execute([[0x05, 0]], [[...new Uint8Array(buf.buffer)]]), 1, null, true)).toBeNull();
  });

  it('quotes strings, doubling quotes and (unless NO_BACKSLASH_ESCAPES) backslashes', () => {
    const payload = execute([[0xfd, 0]], [lenenc("it's a \\ test é")]);
    expect(text(renderParameters(payload, 1, null, true))).toEqual([`'it''s a \\\\ test ${Buffer.from('é').toString('latin1')}'`]);
    expect(text(renderParameters(payload, 1, null, false))).toEqual([`'it''s a \\ test ${Buffer.from('é').toString('latin1')}'`]);
  });

  it('refuses a string holding a NUL byte', () => {
    expect(renderParameters(execute([[0xfd, 0]], [lenenc([0x61, 0x00])]), 1, null, true)).toBeNull();
  });

  it('renders blobs as hex literals, NULLs from the bitmap, decimals verbatim', () => {
    const payload = execute([[0xfc, 0], [0xfd, 0], [0xf6, 0]], [lenenc([0x00, 0xff, 0x27]), lenenc('-12.50')], [1]);
    expect(text(renderParameters(payload, 3, null, true))).toEqual(["X'00ff27'", 'NULL', '-12.50']);
  });

  it('renders DATETIME, DATE and TIME values', () => {
    const dt = [11, 0xe8, 0x07, 2, 29, 13, 5, 9, 0x40, 0xe2, 0x01, 0x00]; // 2024-02-29 13:05:09.123456
    const date = [4, 0xe8, 0x07, 12, 31];
    const time = [12, 1, 1, 0, 0, 0, 2, 3, 4, 1, 0, 0, 0]; // -1 day 02:03:04.000001
    const payload = execute([[0x0c, 0], [0x0a, 0], [0x0b, 0]], [dt, date, time]);
    expect(text(renderParameters(payload, 3, null, true))).toEqual(["'2024-02-29 13:05:09.123456'", "'2024-12-31'", "'-26:03:04.000001'"]);
  });

  it('uses the types bound by an earlier execute when this one omits them', () => {
    const payload = execute([[0x01, 0]], [[7]], [], false);
    expect(text(renderParameters(payload, 1, Uint8Array.from([0x01, 0]), true))).toEqual(['7']);
    expect(renderParameters(payload, 1, null, true)).toBeNull();
  });

  it('refuses types it cannot render exactly, and truncated or overlong payloads', () => {
    expect(renderParameters(execute([[0xf5, 0]], [lenenc('{}')]), 1, null, true)).toBeNull();
    expect(renderParameters(execute([[0x03, 0]], [[1, 2]]), 1, null, true)).toBeNull();
    expect(renderParameters(execute([[0x01, 0]], [[1, 2]]), 1, null, true)).toBeNull();
  });
});

describe('placeholderOffsets', () => {
  it('finds ? outside strings, identifiers and comments', () => {
    const sql = Buffer.from("(?, '?', `a?`, \"?\", /* ? */ ?, 'it\\'s ?', ?)");
    const offsets = placeholderOffsets(sql, 0, sql.length);
    expect(offsets.map((o) => sql.subarray(o, o + 2).toString())).toEqual(['?,', '?,', '?)']);
    expect(offsets.length).toBe(3);
  });
});

describe('isLiteralSafeCharset', () => {
  it('accepts utf8mb4, utf8, latin1 and binary, and refuses multi-byte charsets like sjis and gbk', () => {
    for (const id of [45, 33, 8, 63, 224, 255]) expect(isLiteralSafeCharset(id)).toBe(true);
    for (const id of [13, 28, 1, 88]) expect(isLiteralSafeCharset(id)).toBe(false);
  });
});

describe('memberOk', () => {
  it('encodes the affected rows, the insert id as a length-encoded integer, the flags and warnings, at sequence id 1', async () => {
    const { memberOk } = await import('../../../src/mysql/batch-sql.ts');
    for (const id of [0, 7, 250, 251, 65535, 65536, 0xffffff, 0x1000000, 2 ** 40 + 5]) {
      const affected = id % 2 === 0 ? 1 : 0;
      const packet = memberOk(affected, id, 3, 0x0003);
      expect(packet[3]).toBe(1);
      expect(packet[4]).toBe(0x00);
      expect(packet[5]).toBe(affected);
      const idBytes = id < 0xfb ? [id] : id <= 0xffff ? [0xfc, id & 0xff, id >> 8] : id <= 0xffffff ? [0xfd, id & 0xff, (id >> 8) & 0xff, id >> 16] : [0xfe, ...Array.from({ length: 8 }, (_, i) => Math.floor(id / 2 ** (8 * i)) % 256)];
      expect([...packet.subarray(6, 6 + idBytes.length)]).toEqual(idBytes);
      // Autocommit set, in-transaction cleared; warnings 3.
      expect([...packet.subarray(6 + idBytes.length)]).toEqual([0x02, 0x00, 3, 0]);
      expect(packet[0]! | (packet[1]! << 8) | (packet[2]! << 16)).toBe(packet.length - 4);
    }
  });
});
