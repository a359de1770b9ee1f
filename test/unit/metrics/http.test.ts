import { afterEach, describe, expect, it } from 'bun:test';
import { parseAddress } from '../../../src/config/address.ts';
import type { Address } from '../../../src/config/types.ts';
import { createLogger } from '../../../src/log.ts';
import { startMetricsServer, type MetricsServer } from '../../../src/metrics/http.ts';
import { Metrics } from '../../../src/metrics/registry.ts';
import { makeScratchDir, removeDirSync } from '../../support/tmp.ts';

const started: MetricsServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) removeDirSync(dir);
});

function start(text = '127.0.0.1:0'): { server: MetricsServer; metrics: Metrics; lines: string[]; base: string } {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'text', write: (line) => lines.push(line) });
  const metrics = new Metrics({ maxCallSites: 10, collectDefaultMetrics: false });
  const server = startMetricsServer(parseAddress(text, 'listen') as Address, metrics, log);
  started.push(server);
  const base = server.address.kind === 'tcp' ? `http://${server.address.text}` : '';
  return { server, metrics, lines, base };
}

describe('startMetricsServer', () => {
  it('binds port 0 to a real port and reports it', () => {
    const { server } = start();
    expect(server.address.kind).toBe('tcp');
    expect(server.address).toMatchObject({ host: '127.0.0.1' });
    expect(server.address.text).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
  });

  it('logs "metrics listening address=HOST:PORT"', () => {
    const { server, lines } = start();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^\\S+ INFO metrics listening address=${server.address.text.replace(/\./g, '\\.')}\\n$`));
  });

  it('serves /metrics in the Prometheus text format with every tqdbproxy metric', async () => {
    const { metrics, base } = start();
    metrics.observeQuery('mariadb', 'select', false, 'app.go', 7, 0.001);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await response.text();
    expect(body).toContain('# TYPE tqdbproxy_query_total counter');
    expect(body).toContain('tqdbproxy_query_total{protocol="mariadb",query_type="select",cached="false",file="app.go",line="7"} 1');
    expect(body).toContain('# TYPE tqdbproxy_write_current_delay_ms gauge');
    expect(body).toContain('# TYPE tqdbproxy_cache_hits_total counter');
  });

  it('ignores a query string on /metrics', async () => {
    const { base } = start();
    expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
  });

  it('answers /healthz with 200 ok', async () => {
    const { base } = start();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  it('answers other paths with 404 and other methods with 405', async () => {
    const { base } = start();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metricsx`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers HEAD /metrics without a body', async () => {
    const { base } = start();
    const response = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('listens on a unix socket', async () => {
    const dir = makeScratchDir('tqdb-metrics-');
    dirs.push(dir);
    const { server } = start(`unix:${dir}/metrics.sock`);
    expect(server.address).toEqual({ kind: 'unix', path: `${dir}/metrics.sock`, text: `unix:${dir}/metrics.sock` });
    const response = await fetch('http://localhost/healthz', { unix: `${dir}/metrics.sock` });
    expect(await response.text()).toBe('ok');
  });

  it('stops listening on stop(), and stop() twice is harmless', async () => {
    const { server, base } = start();
    await server.stop();
    await server.stop();
    let failed = false;
    try {
      await fetch(`${base}/healthz`);
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });

  it('throws when the address is taken', () => {
    const { server } = start();
    expect(() => start(server.address.text)).toThrow();
  });
});
