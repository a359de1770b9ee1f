/**
 * The metrics HTTP server: GET /metrics (Prometheus text exposition) and
 * GET /healthz ("ok"), on `[proxy] metrics_listen` or `--metrics`.
 */
import { listenFailure } from '../net/listen-failure.ts';
import type { Server } from 'bun';
import { formatHostPort } from '../config/address.ts';
import type { Address } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './registry.ts';

export interface MetricsServer {
  /** Where it actually listens: port 0 in the config becomes the port the kernel chose. */
  readonly address: Address;
  /** Closes the listener and any open scrape connections. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts listening at once and logs `metrics listening address=HOST:PORT`
 * (test harnesses read that line for the port).
 * @throws when the address cannot be bound (e.g. already in use).
 */
export function startMetricsServer(address: Address, metrics: Metrics, log: Logger): MetricsServer {
  const fetch = async (request: Request): Promise<Response> => {
    const path = pathOf(request.url);
    if (path !== '/metrics' && path !== '/healthz') return new Response('not found\n', { status: 404 });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    if (path === '/healthz') return new Response('ok', { headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    try {
      const body = await metrics.render();
      return new Response(request.method === 'HEAD' ? null : body, { headers: { 'Content-Type': metrics.contentType } });
    } catch (error) {
      log.error('metrics rendering failed', { error });
      return new Response('metrics unavailable\n', { status: 500 });
    }
  };
  const error = (err: Error): Response => {
    log.error('metrics request failed', { error: err });
    return new Response('internal error\n', { status: 500 });
  };

  let server: Server<undefined>;
  let bound: Address;
  try {
    if (address.kind === 'unix') {
      server = Bun.serve({ unix: address.path, fetch, error, development: false });
      bound = address;
    } else {
      // Bun turns SO_REUSEPORT on when development is false; a second proxy
      // must fail to bind instead of silently sharing the port.
      server = Bun.serve({ hostname: address.host, port: address.port, fetch, error, development: false, reusePort: false });
      const port = server.port ?? address.port;
      bound = { kind: 'tcp', host: address.host, port, text: formatHostPort(address.host, port) };
    }
  } catch (cause) {
    throw listenFailure('[proxy] metrics_listen', address.text, cause);
  }
  log.info('metrics listening', { address: bound.text });

  let stopping: Promise<void> | null = null;
  return {
    address: bound,
    stop(): Promise<void> {
      stopping ??= server.stop(true).then(() => undefined);
      return stopping;
    },
  };
}

/** The path of a request URL without building a URL object. */
function pathOf(url: string): string {
  const scheme = url.indexOf('://');
  const start = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}
