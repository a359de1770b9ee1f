import { describe, expect, it } from 'bun:test';
import type { ProxyErrorCode } from '../../../src/core/errors.ts';
import { POSTGRES_ERRORS } from '../../../src/postgres/errors.ts';
import { readBind, readErrorFields, readParse, readStartup, writeErrorResponse, writeTextResultSet } from '../../../src/postgres/wire/messages.ts';
import { MessageWriter } from '../../../src/postgres/wire/writer.ts';
import { pgCstr, pgErrorFields, pgMessage, pgMessages, pgStartup, pgStartupMessage } from '../../support/bytes.ts';

describe('postgres wire messages', () => {
  it('reads a StartupMessage\'s parameters', () => {
    const m = readStartup(pgStartup({ user: 'u', database: 'd', application_name: 'x' }).subarray(4));
    expect(m.kind === 'startup' && Object.fromEntries(m.parameters)).toEqual({ user: 'u', database: 'd', application_name: 'x' });
  });

  it('tells SSLRequest, GSSENCRequest and CancelRequest apart', () => {
    expect(readStartup(pgStartupMessage(80877103).subarray(4)).kind).toBe('ssl');
    expect(readStartup(pgStartupMessage(80877104).subarray(4)).kind).toBe('gssenc');
    expect(readStartup(pgStartupMessage(80877102, [0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe]).subarray(4))).toEqual({ kind: 'cancel', processId: 256, secretKey: -2 });
  });

  it('refuses protocol 2 and a startup message without its terminator', () => {
    expect(() => readStartup(pgStartupMessage(2 << 16, [0]).subarray(4))).toThrow('unsupported frontend protocol');
    expect(() => readStartup(pgStartupMessage(196608, pgCstr('user')).subarray(4))).toThrow();
  });

  it('reads Parse and Bind', () => {
    const parse = readParse(pgMessage('P', [...pgCstr('s1'), ...pgCstr('SELECT $1'), 0, 1, 0, 0, 0, 23]).subarray(5));
    expect({ name: parse.name, sql: parse.sql, paramTypes: [...parse.paramTypes] }).toEqual({ name: 's1', sql: 'SELECT $1', paramTypes: [0, 1, 0, 0, 0, 23] });
    const bind = readBind(pgMessage('B', [...pgCstr('p'), ...pgCstr('s1'), 0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0]).subarray(5));
    expect(bind.portal).toBe('p');
    expect(bind.statement).toBe('s1');
    expect([...bind.parameters]).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0]);
  });

  it('writes an ErrorResponse an independent reader understands', () => {
    const bytes = writeErrorResponse(new MessageWriter(), { severity: 'FATAL', code: '08P01', message: 'bad' }).finish();
    const [m] = pgMessages(bytes);
    expect(m!.type).toBe('E');
    expect(pgErrorFields(m!.body)).toEqual({ S: 'FATAL', V: 'FATAL', C: '08P01', M: 'bad' });
    expect(readErrorFields(m!.body)).toEqual({ code: '08P01', severity: 'FATAL', message: 'bad' });
  });

  it('writes a text result set as RowDescription, DataRows and CommandComplete', () => {
    const bytes = writeTextResultSet(new MessageWriter(8), ['a', 'b'], [['1', 'é'], ['', 'x']], 'SHOW').finish();
    expect(pgMessages(bytes).map((m) => m.type).join('')).toBe('TDDC');
    const row = pgMessages(bytes)[1]!.body;
    expect([...row]).toEqual([0, 2, 0, 0, 0, 1, 0x31, 0, 0, 0, 2, 0xc3, 0xa9]);
  });

  it('maps every proxy error code to a five-character SQLSTATE', () => {
    for (const [code, mapped] of Object.entries(POSTGRES_ERRORS) as [ProxyErrorCode, { sqlState: string }][]) {
      expect({ code, ok: /^[0-9A-Z]{5}$/.test(mapped.sqlState) }).toEqual({ code, ok: true });
    }
  });
});
