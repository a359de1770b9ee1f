import { describe, expect, it } from 'bun:test';
import { loadConfig } from '../../src/config/load.ts';
import type { ProtocolConfig } from '../../src/config/types.ts';
import { BatchManager, type BatchManagerOptions, type BatchMember, type BatchObserver } from '../../src/core/batch/batch-manager.ts';
import { parseStatement } from '../../src/core/sql/index.ts';
import { createLogger } from '../../src/log.ts';
import { Metrics } from '../../src/metrics/registry.ts';
import { protocolServices, replaceWriteBatching, type ProtocolState } from '../../src/protocol-services.ts';
import { parseExposition, sumSamples } from '../support/prometheus.ts';

const managerOptions: BatchManagerOptions = {
  initialDelayMs: 10_000, minDelayMs: 1, maxDelayMs: 10_000, writeThreshold: 1000, adaptiveStep: 1.5, intervalSeconds: 60,
  maxBatchSize: 3, maxBatchBytes: 1000, timeoutMs: 30_000, maxInFlight: 1, latencyBudgetMs: 10_000,
  policy: { probeIntervalMs: 0, probeWindowMs: 0, slowerRatio: 1.2, minSamples: 1, probesToLeave: 1 },
};
const quietObserver: BatchObserver = { queuedChanged() {}, batchStarted() {}, batchFinished() {}, delayChanged() {}, modeChanged() {}, ranAlone() {} };

/** A manager whose runner records what it ran; a batch of a write in `held` waits until `release`. */
function manager(ran: BatchMember[][], held: Set<BatchMember> = new Set(), release: Promise<void> = Promise.resolve()): BatchManager<BatchMember> {
  return new BatchManager<BatchMember>(
    managerOptions,
    {
      run: async (members) => {
        ran.push(members);
        if (members.some((m) => held.has(m))) await release;
      },
      abandon() {},
    },
    quietObserver,
  );
}

function member(key = 'k'): BatchMember {
  return { key, site: 'test', maxWaitMs: null, bytes: 10, enqueuedAtMs: 0, state: 'queued' };
}

function setup(protocol: 'mariadb' | 'postgres' = 'mariadb') {
  const base = loadConfig({ file: null, env: {} }).mariadb;
  const ran: BatchMember[][] = [];
  const state: ProtocolState<BatchMember> = { config: base, tls: null, isShuttingDown: false, writes: manager(ran), retired: [] };
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(line) });
  const metrics = new Metrics({ maxCallSites: 10, collectDefaultMetrics: false });
  const clients = new Set<{ name: string }>();
  const services = protocolServices(protocol, state, { log, metrics, cache: null, clients }, { extra: 42 });
  return { base, state, services, metrics, clients, lines, ran };
}

function withBatching(config: ProtocolConfig, enabled: boolean): ProtocolConfig {
  return { ...config, writeBatch: { ...config.writeBatch, enabled } };
}

describe('protocolServices', () => {
  it('registers clients in the shared set and counts them under the protocol', async () => {
    const { services, metrics, clients } = setup('postgres');
    const client = { name: 'a' };
    services.onClientOpen(client);
    expect(clients.has(client)).toBe(true);
    services.onClientClose(client, true);
    services.onClientClose(client, true); // a second close must not count twice
    expect(clients.size).toBe(0);
    const exposition = parseExposition(await metrics.render());
    expect(sumSamples(exposition, 'tqdbproxy_client_connections', { protocol: 'postgres' })).toBe(0);
  });

  it('reads writebatch_enabled and the shutdown flag at call time, so a reload reaches open connections', () => {
    const { base, state, services } = setup();
    state.config = withBatching(base, true);
    expect(services.engine.isBatchingEnabled).toBe(true);
    state.config = withBatching(base, false);
    expect(services.engine.isBatchingEnabled).toBe(false);
    expect(services.isShuttingDown).toBe(false);
    state.isShuttingDown = true;
    expect(services.isShuttingDown).toBe(true);
  });

  it('keeps the protocol\'s own extras beside the shared services', () => {
    const { services } = setup();
    expect(services.extra).toBe(42);
    expect(services.protocol).toBe('mariadb');
  });

  it('labels a batched write by its file:line hint, or by one stable id per template', () => {
    const { services } = setup();
    expect(services.batchSite(parseStatement('/* file:app.ts line:7 */ INSERT INTO t VALUES (1)', 'mysql'))).toBe('app.ts:7');
    const first = services.batchSite(parseStatement('INSERT INTO t VALUES (1)', 'mysql'));
    expect(first).toMatch(/^t[0-9a-f]{8}$/);
    expect(services.batchSite(parseStatement('INSERT INTO t VALUES (2)', 'mysql'))).toBe(first);
    expect(services.batchSite(parseStatement('INSERT INTO u VALUES (1)', 'mysql'))).not.toBe(first);
  });

  it('interns batch keys: equal keys come back as one shared string', () => {
    const { services } = setup();
    const a = services.engine.internBatchKey(['k', 'ey'].join(''));
    expect(services.engine.internBatchKey('key')).toBe(a);
  });

  it('cancels a write still queued in the live manager', async () => {
    const { state, services } = setup();
    const blocker = member();
    let release!: () => void;
    state.writes = manager([], new Set([blocker]), new Promise((resolve) => (release = resolve)));
    services.enqueueWrite!(blocker); // runs at once and holds its key busy
    const queued = member();
    services.enqueueWrite!(queued);
    expect(queued.state).toBe('queued');
    services.cancelWrite!(queued);
    expect(queued.state).toBe('cancelled');
    release();
  });

  it('after a reload, runs writes queued before it in the retired manager, new ones in the new manager, and drops the retired one', async () => {
    const { state, services, ran } = setup();
    const before = member();
    services.enqueueWrite!(before);
    const ranNext: BatchMember[][] = [];
    replaceWriteBatching(state, manager(ranNext));
    expect(state.retired.length).toBe(1);
    const after = member();
    services.enqueueWrite!(after);
    const deadline = performance.now() + 5000;
    while (state.retired.length > 0 && performance.now() < deadline) await Bun.sleep(1);
    expect(state.retired).toEqual([]);
    expect(ran).toEqual([[before]]);
    expect(ranNext).toEqual([[after]]);
  });
});
