import { describe, expect, it } from 'bun:test';
import { ResponseTracker, type ResponseShape } from '../../../src/mysql/response-tracker.ts';
import { PacketScanner } from '../../../src/mysql/wire/framing.ts';
import { columnDef, concat, eof, err, ok, packet, textRow } from '../../support/bytes.ts';

const MORE = 0x08;
const AUTOCOMMIT = 0x02;
const IN_TRANS = 0x01;
const CURSOR = 0x40;

/** Feeds the packets in and returns where the response ended (-1 if it did not). */
function endOf(shape: ResponseShape, deprecateEof: boolean, payloads: number[][], isExecute = false): { end: number; tracker: ResponseTracker; total: number } {
  const wire = concat(...payloads.map((p, i) => packet((i + 1) & 0xff, p)));
  const tracker = new ResponseTracker(shape, deprecateEof, isExecute);
  const end = new PacketScanner().scan(wire, 0, wire.length, tracker);
  return { end, tracker, total: wire.length };
}

describe('ResponseTracker', () => {
  it('ends a COM_QUERY response at an OK and reads its status flags', () => {
    const r = endOf('result', false, [ok(AUTOCOMMIT | IN_TRANS, 1, 5)]);
    expect(r.end).toBe(r.total);
    expect(r.tracker.outcome).toBe('ok');
    expect(r.tracker.statusFlags).toBe(AUTOCOMMIT | IN_TRANS);
  });

  it('ends at an ERR', () => {
    const r = endOf('result', false, [err(1064, 'syntax')]);
    expect(r.end).toBe(r.total);
    expect(r.tracker.outcome).toBe('err');
  });

  it('follows a text result set with EOF packets', () => {
    const payloads = [[2], columnDef('a'), columnDef('b'), eof(AUTOCOMMIT), textRow('1', null), textRow('x', 'y'), eof(AUTOCOMMIT)];
    const r = endOf('result', false, payloads);
    expect(r.end).toBe(r.total);
    expect(r.tracker.outcome).toBe('resultset');
  });

  it('does not end early at the EOF after the column definitions', () => {
    const payloads = [[1], columnDef('a'), eof(AUTOCOMMIT), textRow('1')];
    expect(endOf('result', false, payloads).end).toBe(-1);
  });

  it('follows a result set under CLIENT_DEPRECATE_EOF, ended by an OK with header 0xFE', () => {
    const payloads = [[1], columnDef('a'), textRow('1'), textRow('2'), ok(AUTOCOMMIT, 0, 0, 0xfe)];
    const r = endOf('result', true, payloads);
    expect(r.end).toBe(r.total);
    expect(r.tracker.statusFlags).toBe(AUTOCOMMIT);
  });

  it('follows several result sets while SERVER_MORE_RESULTS_EXISTS is set', () => {
    const payloads = [[1], columnDef('a'), eof(AUTOCOMMIT), textRow('1'), eof(AUTOCOMMIT | MORE), ok(AUTOCOMMIT | MORE, 1), [1], columnDef('b'), eof(AUTOCOMMIT), eof(AUTOCOMMIT)];
    const r = endOf('result', false, payloads);
    expect(r.end).toBe(r.total);
    expect(r.tracker.results).toBe(3);
  });

  it('ends at an ERR in the middle of the rows', () => {
    const r = endOf('result', false, [[1], columnDef('a'), eof(AUTOCOMMIT), textRow('1'), err(1317, 'interrupted')]);
    expect(r.end).toBe(r.total);
    expect(r.tracker.outcome).toBe('err');
  });

  it('waits for the client during LOCAL INFILE and then for the OK', () => {
    const wire = packet(1, [0xfb, ...new TextEncoder().encode('/tmp/x')]);
    const tracker = new ResponseTracker('result', false);
    const scanner = new PacketScanner();
    expect(scanner.scan(wire, 0, wire.length, tracker)).toBe(-1);
    expect(tracker.isAwaitingClient).toBe(true);
    tracker.endInfile();
    expect(tracker.isAwaitingClient).toBe(false);
    const okWire = packet(4, ok(AUTOCOMMIT, 3));
    expect(scanner.scan(okWire, 0, okWire.length, tracker)).toBe(okWire.length);
  });

  it('counts parameter and column definitions of a COM_STMT_PREPARE response', () => {
    const prepareOk = [0x00, 7, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0];
    const r = endOf('prepare', false, [prepareOk, columnDef('?'), columnDef('?'), eof(AUTOCOMMIT), columnDef('a'), eof(AUTOCOMMIT)]);
    expect(r.end).toBe(r.total);
    expect(r.tracker.preparedId).toBe(7);
    expect(r.tracker.preparedParams).toBe(2);
    const deprecated = endOf('prepare', true, [prepareOk, columnDef('?'), columnDef('?'), columnDef('a')]);
    expect(deprecated.end).toBe(deprecated.total);
  });

  it('ends a COM_STMT_EXECUTE response at the metadata when a cursor was opened', () => {
    const r = endOf('result', false, [[1], columnDef('a'), eof(AUTOCOMMIT | CURSOR)], true);
    expect(r.end).toBe(r.total);
  });

  it('treats binary rows starting with 0x00 as rows, not OK packets', () => {
    const r = endOf('result', true, [[1], columnDef('a'), [0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9], ok(AUTOCOMMIT, 0, 0, 0xfe)], true);
    expect(r.end).toBe(r.total);
  });

  it('follows COM_STMT_FETCH rows to the EOF', () => {
    const r = endOf('fetch', false, [[0x00, 0x00, 1], [0x00, 0x00, 2], eof(AUTOCOMMIT | CURSOR | 0x80)]);
    expect(r.end).toBe(r.total);
  });

  it('keeps an auth exchange open through AuthSwitchRequest and AuthMoreData until OK', () => {
    const r = endOf('auth', false, [[0xfe, ...new TextEncoder().encode('mysql_native_password\0')]]);
    expect(r.end).toBe(-1);
    expect(r.tracker.isAwaitingClient).toBe(true);
    const fast = endOf('auth', false, [[0x01, 0x03], ok(AUTOCOMMIT)]);
    expect(fast.end).toBe(fast.total);
  });

  it('ends COM_FIELD_LIST at its EOF', () => {
    const r = endOf('field-list', false, [columnDef('a'), columnDef('b'), eof(AUTOCOMMIT)]);
    expect(r.end).toBe(r.total);
  });

  it('ends a single-packet response such as COM_STATISTICS after one packet', () => {
    const r = endOf('single', false, [[...new TextEncoder().encode('Uptime: 5')]]);
    expect(r.end).toBe(r.total);
  });
});
