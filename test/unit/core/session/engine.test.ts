import { describe, expect, it } from 'bun:test';
import { QueryCache, type CacheObserver } from '../../../../src/core/cache/query-cache.ts';
import type { ExclusionReason } from '../../../../src/core/batch/eligibility.ts';
import { SessionEngine, SessionState, type EngineServices, type Plan, type PlanRequest } from '../../../../src/core/session/index.ts';
import { parseStatement } from '../../../../src/core/sql/index.ts';

const cacheConfig = { maxBytes: 100_000, maxEntryBytes: 1000, waitTimeoutMs: 1000, staleFactor: 2 };
const quiet: CacheObserver = { hit() {}, miss() {}, coalesced() {}, evicted() {}, usage() {} };

function clock(start = 1_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function services(overrides: Partial<EngineServices> = {}): EngineServices & { excluded: ExclusionReason[] } {
  const excluded: ExclusionReason[] = [];
  return {
    cache: new QueryCache(cacheConfig, quiet),
    hasBatcher: false,
    isBatchingEnabled: false,
    onWriteExcluded: (reason) => excluded.push(reason),
    internBatchKey: (key) => key,
    excluded,
    ...overrides,
  };
}

function session(protocol: 'postgres' | 'mariadb' = 'postgres'): SessionState {
  const s = new SessionState(protocol, 'main');
  s.user = 'app';
  s.database = 'shop';
  s.charset = 'UTF8';
  return s;
}

function request(sql: string, overrides: Partial<PlanRequest> = {}): PlanRequest {
  return { statement: parseStatement(sql, 'postgres'), encoding: 'simple', parameters: '', canAnswerHere: true, canBatch: true, ...overrides };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('SessionEngine.plan', () => {
  it('answers SHOW TQDB STATUS itself, with the session\'s transaction state', () => {
    const engine = new SessionEngine(services());
    const s = session();
    s.isServerInTransaction = true;
    const plan = engine.plan(request('show tqdb status;'), s);
    expect(plan).toEqual({ kind: 'status', rows: [['Shard', 'main'], ['Backend', 'none'], ['CacheAge', ''], ['LastBatchSize', ''], ['InTransaction', '1']] });
  });

  it('forwards SHOW TQDB STATUS when a proxy answer could not be placed in order', () => {
    const engine = new SessionEngine(services());
    expect(engine.plan(request('SHOW TQDB STATUS', { canAnswerHere: false }), session()).kind).toBe('forward');
  });

  it('leads the first miss of a ttl-hinted SELECT and serves the next identical one from the capture', () => {
    const svc = services();
    const engine = new SessionEngine(svc);
    const s = session();
    const first = engine.plan(request('/* ttl:60 */ SELECT * FROM items'), s);
    expect(first.kind).toBe('lead');
    if (first.kind !== 'lead') return;
    first.capture.append(bytes('xxrowsyy'), 2, 6);
    first.capture.finish(true);
    const second = engine.plan(request('/* ttl:60 */ SELECT * FROM items'), s);
    expect(second.kind).toBe('cache-hit');
    if (second.kind === 'cache-hit') expect(new TextDecoder().decode(second.bytes)).toBe('rows');
    expect(engine.answeredBy).toBe('cache');
  });

  it('makes a concurrent identical miss wait for the leader and get its bytes', async () => {
    const svc = services();
    const leader = new SessionEngine(svc);
    const follower = new SessionEngine(svc);
    const lead = leader.plan(request('/* ttl:60 */ SELECT 1'), session());
    const wait = follower.plan(request('/* ttl:60 */ SELECT 1'), session());
    expect(lead.kind).toBe('lead');
    expect(wait.kind).toBe('wait');
    if (lead.kind !== 'lead' || wait.kind !== 'wait') return;
    lead.capture.append(bytes('answer'), 0, 6);
    lead.capture.finish(true);
    const entry = await wait.result;
    expect(new TextDecoder().decode(entry!.bytes)).toBe('answer');
  });

  it('releases waiters with null when the leader\'s response has an error, and stores nothing', async () => {
    const svc = services();
    const lead = new SessionEngine(svc).plan(request('/* ttl:60 */ SELECT 1'), session());
    const wait = new SessionEngine(svc).plan(request('/* ttl:60 */ SELECT 1'), session());
    if (lead.kind !== 'lead' || wait.kind !== 'wait') throw new Error('expected lead and wait');
    lead.capture.append(bytes('error'), 0, 5);
    lead.capture.finish(false);
    expect(await wait.result).toBeNull();
    expect(new SessionEngine(svc).plan(request('/* ttl:60 */ SELECT 1'), session()).kind).toBe('lead');
  });

  it('drops a capture larger than the cache\'s max entry size, and a second finish or abort changes nothing', () => {
    const svc = services();
    const lead = new SessionEngine(svc).plan(request('/* ttl:60 */ SELECT big'), session());
    if (lead.kind !== 'lead') throw new Error('expected lead');
    lead.capture.append(new Uint8Array(2000), 0, 2000);
    lead.capture.finish(true);
    lead.capture.abort();
    expect(new SessionEngine(svc).plan(request('/* ttl:60 */ SELECT big'), session()).kind).toBe('lead');
  });

  it('keys the cache by user, database and parameters', () => {
    const svc = services();
    const engine = new SessionEngine(svc);
    const lead = engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p1' }), session());
    if (lead.kind !== 'lead') throw new Error('expected lead');
    lead.capture.append(bytes('one'), 0, 3);
    lead.capture.finish(true);
    expect(engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p1' }), session()).kind).toBe('cache-hit');
    expect(engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p2' }), session()).kind).toBe('lead');
    const otherUser = session();
    otherUser.user = 'other';
    expect(engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p1' }), otherUser).kind).toBe('lead');
    const otherDb = session();
    otherDb.database = 'other';
    expect(engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p1' }), otherDb).kind).toBe('lead');
    expect(engine.plan(request('/* ttl:60 */ SELECT $1', { parameters: 'p1', encoding: 'extended' }), session()).kind).toBe('lead');
  });

  it('never caches inside a transaction, in an untracked session, or without a ttl hint', () => {
    const engine = new SessionEngine(services());
    const inTx = session();
    inTx.isServerInTransaction = true;
    expect(engine.plan(request('/* ttl:60 */ SELECT 1'), inTx).kind).toBe('forward');
    const untracked = session();
    untracked.hasUntrackedState = true;
    expect(engine.plan(request('/* ttl:60 */ SELECT 1'), untracked).kind).toBe('forward');
    expect(engine.plan(request('SELECT 1'), session()).kind).toBe('forward');
  });

  it('serves a stale entry and hands exactly one caller the refresh', () => {
    const c = clock();
    const svc = services({ cache: new QueryCache(cacheConfig, quiet, c) });
    const lead = new SessionEngine(svc).plan(request('/* ttl:1 */ SELECT now()'), session());
    if (lead.kind !== 'lead') throw new Error('expected lead');
    lead.capture.append(bytes('t0'), 0, 2);
    lead.capture.finish(true);
    c.advance(1500);
    const first = new SessionEngine(svc).plan(request('/* ttl:1 */ SELECT now()'), session());
    const second = new SessionEngine(svc).plan(request('/* ttl:1 */ SELECT now()'), session());
    expect(first.kind === 'cache-hit' && first.refresh !== null).toBe(true);
    expect(second.kind === 'cache-hit' && second.refresh === null).toBe(true);
  });

  it('plans a batch for an eligible autocommit write when the protocol has a batcher, with one key per template and session', () => {
    const engine = new SessionEngine(services({ hasBatcher: true, isBatchingEnabled: true }));
    const a = engine.plan(request("INSERT INTO t (v) VALUES ('a')"), session());
    const b = engine.plan(request("INSERT INTO t (v) VALUES ('b')"), session());
    expect(a.kind).toBe('batch');
    expect(b).toEqual(a);
    const other = session();
    other.user = 'someone-else';
    const c = engine.plan(request("INSERT INTO t (v) VALUES ('c')"), other) as Extract<Plan, { kind: 'batch' }>;
    expect(c.kind).toBe('batch');
    expect(c.key).not.toBe((a as Extract<Plan, { kind: 'batch' }>).key);
  });

  it('forwards writes the batcher cannot take, counting why', () => {
    const svc = services({ hasBatcher: true, isBatchingEnabled: true });
    const engine = new SessionEngine(svc);
    const inTx = session();
    inTx.isServerInTransaction = true;
    expect(engine.plan(request("INSERT INTO t VALUES (1)"), inTx).kind).toBe('forward');
    expect(engine.plan(request('/* batch:0 */ INSERT INTO t VALUES (1)'), session()).kind).toBe('forward');
    expect(engine.plan(request('INSERT INTO t VALUES (1)', { canBatch: false }), session()).kind).toBe('forward');
    expect(engine.plan(request('INSERT INTO t VALUES (1)', { canBatch: false, batchBlocker: 'pipelined' }), session()).kind).toBe('forward');
    // The engine's own reason wins over the front end's: a write in a transaction is not batched whatever the wire says.
    expect(engine.plan(request('INSERT INTO t VALUES (1)', { canBatch: false, batchBlocker: 'pipelined' }), inTx).kind).toBe('forward');
    // A read that cannot be batched is no excluded write.
    expect(engine.plan(request('SELECT 1', { canBatch: false, batchBlocker: 'pipelined' }), session()).kind).toBe('forward');
    expect(svc.excluded).toEqual(['transaction', 'hint_zero', 'not_batchable', 'pipelined', 'transaction']);
  });

  it('never plans a batch for a protocol without a batcher', () => {
    const engine = new SessionEngine(services({ hasBatcher: false, isBatchingEnabled: true }));
    expect(engine.plan(request('INSERT INTO t VALUES (1)'), session()).kind).toBe('forward');
  });

  it('records where the last statement was answered for SHOW TQDB STATUS', () => {
    const engine = new SessionEngine(services());
    engine.forwarded({ kind: 'primary', group: 'main' });
    expect(engine.answeredBy).toBe('primary');
    engine.answeredByBatch(7);
    const plan = engine.plan(request('SHOW TQDB STATUS'), session());
    expect(plan.kind === 'status' && plan.rows).toContainEqual(['LastBatchSize', '7']);
    expect(plan.kind === 'status' && plan.rows).toContainEqual(['Backend', 'write-batch']);
  });

  it('keeps answers of different wire encodings apart (MariaDB text, binary, with and without deprecated EOF)', () => {
    const svc = services();
    const engine = new SessionEngine(svc);
    const s = session('mariadb');
    const ask = (encoding: string): Plan => engine.plan({ ...request('/* ttl:60 */ SELECT 1'), statement: parseStatement('/* ttl:60 */ SELECT 1', 'mysql'), encoding }, s);
    const lead = ask('text+deof');
    if (lead.kind !== 'lead') throw new Error('expected lead');
    lead.capture.append(bytes('rows'), 0, 4);
    lead.capture.finish(true);
    expect(ask('text+deof').kind).toBe('cache-hit');
    for (const encoding of ['text', 'binary', 'binary+deof']) expect({ encoding, kind: ask(encoding).kind }).toEqual({ encoding, kind: 'lead' });
  });

  it('excludes a MariaDB session holding LOCK TABLES from batching, counting lock_tables', () => {
    const svc = services({ hasBatcher: true, isBatchingEnabled: true });
    const s = session('mariadb');
    s.hasTableLocks = true;
    expect(new SessionEngine(svc).plan({ ...request('INSERT INTO t VALUES (1)'), statement: parseStatement('INSERT INTO t VALUES (1)', 'mysql') }, s).kind).toBe('forward');
    expect(svc.excluded).toEqual(['lock_tables']);
  });

  it('hands out one read-only forward plan per group instead of a new one per statement', () => {
    const engine = new SessionEngine(services({ hasBatcher: true, isBatchingEnabled: true }));
    const s = session();
    const first = engine.plan(request('SELECT 1'), s);
    expect(engine.plan(request('SELECT 2'), s)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    s.group = 'other';
    const moved = engine.plan(request('SELECT 1'), s);
    expect(moved).toEqual({ kind: 'forward', target: { kind: 'primary', group: 'other' } });
  });
});

