// Issue #10, finding 10: SHOW TQDB STATUS LIKE 'x' is the proxy's to answer, not the server's (1064).
import { describe, expect, it } from 'bun:test';
import { parseStatusCommand, statusRows } from '../../../src/admin/status.ts';

const status = { shard: 'main', answeredBy: 'primary' as const, cacheAgeSeconds: null, lastBatchSize: 3, isInTransaction: false };

describe('admin/status', () => {
  it('recognises SHOW TQDB STATUS with and without LIKE, in any case and spacing', () => {
    expect(parseStatusCommand('SHOW TQDB STATUS')).toEqual({ like: null });
    expect(parseStatusCommand('show  tqdb status ;')).toEqual({ like: null });
    expect(parseStatusCommand("SHOW TQDB STATUS LIKE 'Last%'")).toEqual({ like: 'Last%' });
    expect(parseStatusCommand('show tqdb status like "backend"')).toEqual({ like: 'backend' });
    expect(parseStatusCommand("SHOW TQDB STATUS LIKE 'it''s'")).toEqual({ like: "it's" });
  });

  it('leaves other statements to the server', () => {
    expect(parseStatusCommand('SHOW STATUS')).toBeNull();
    expect(parseStatusCommand("SHOW TQDB STATUS WHERE 1")).toBeNull();
    expect(parseStatusCommand("SHOW TQDB STATUS LIKE x")).toBeNull();
  });

  it('filters rows by the LIKE pattern without case, % and _ as wildcards', () => {
    expect(statusRows('last%', status)).toEqual([['LastBatchSize', '3']]);
    expect(statusRows('BACKEN_', status)).toEqual([['Backend', 'primary']]);
    expect(statusRows('nothing', status)).toEqual([]);
    expect(statusRows(null, status)).toHaveLength(5);
    expect(statusRows('a.c%', status)).toEqual([]);
  });
});
