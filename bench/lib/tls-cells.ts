/**
 * The TLS and compression cells of bench:proxy (`--tls`). The shared server
 * has no certificate, so these run against a throwaway mariadbd that has one
 * (plaintext still allowed, so every mode hits the same server), through two
 * proxies started here:
 *
 *   direct-plain / proxy-plain   no TLS on any link (the baseline on this server)
 *   direct-tls   / proxy-tls     TLS client→db, or client→proxy and proxy→db (verify-full)
 *   direct-zlib  / proxy-zlib    compress: true, no TLS (both proxy links compressed)
 *
 * Each proxy-* row's ratio is against its own direct-* row; the proxy's TLS
 * cost per query is proxy-tls minus proxy-plain (proxy CPU µs/op), in one run.
 */
import type { ConnectionOptions } from 'mysql2/promise';
import { startMariaDb } from '../../test/support/mariadb.ts';
import { makeCertificates } from '../../test/support/tls.ts';
import type { BenchArgs } from './args.ts';
import { startBenchProxy } from './proxy.ts';

export const TLS_MODES = ['direct-plain', 'proxy-plain', 'direct-tls', 'proxy-tls', 'direct-zlib', 'proxy-zlib'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

interface Target {
  host: string;
  port: number;
}

export interface TlsCellOptions<S, R> {
  args: BenchArgs;
  workloads: { name: string; sql: string }[];
  log: (line: string) => void;
  /** Creates the bench database and table on the throwaway server. */
  prepare: (target: Target) => Promise<void>;
  measure: (
    workload: { name: string; sql: string },
    target: Target,
    connections: number,
    seconds: number,
    dbPid: number,
    proxyPid: number | undefined,
    connectOptions: ConnectionOptions,
  ) => Promise<S & { qps: number; errors: number; firstError: string | undefined }>;
  toRow: (workload: string, connections: number, mode: TlsMode, slots: S[], directQps: number | undefined) => R & { qps: number };
  failedRow: (workload: string, connections: number, mode: TlsMode, message: string) => R;
}

export async function measureTlsCells<S, R>(options: TlsCellOptions<S, R>): Promise<R[]> {
  const { args, log } = options;
  await using certs = await makeCertificates();
  await using db = await startMariaDb({ tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile } });
  const dbTarget = { host: db.host, port: db.port };
  await options.prepare(dbTarget);
  const onDb: BenchArgs = { ...args, direct: dbTarget, proxy: undefined };
  const plainProxy = await startBenchProxy(onDb);
  const tlsProxy = await startBenchProxy(onDb, {
    ini: `[mariadb]\ntls_cert_file = ${certs.certFile}\ntls_key_file = ${certs.keyFile}\n[mariadb.main]\nbackend_tls = verify-full\nbackend_tls_ca_file = ${certs.caFile}\n`,
  });
  const ca = await Bun.file(certs.caFile).text();
  // Verify the certificate as a careful client would: the cost of checking is part of the TLS cost.
  const tls: ConnectionOptions = { ssl: { ca, rejectUnauthorized: true } };
  const modes: Record<TlsMode, { target: Target; proxyPid: number | undefined; connect: ConnectionOptions }> = {
    'direct-plain': { target: dbTarget, proxyPid: undefined, connect: {} },
    'proxy-plain': { target: plainProxy, proxyPid: plainProxy.pid, connect: {} },
    'direct-tls': { target: dbTarget, proxyPid: undefined, connect: tls },
    'proxy-tls': { target: tlsProxy, proxyPid: tlsProxy.pid, connect: tls },
    'direct-zlib': { target: dbTarget, proxyPid: undefined, connect: { compress: true } },
    'proxy-zlib': { target: plainProxy, proxyPid: plainProxy.pid, connect: { compress: true } },
  };
  log(`TLS/compression cells: throwaway mariadbd ${db.host}:${db.port} (pid ${db.pid}), plain proxy :${plainProxy.port}, TLS proxy :${tlsProxy.port}`);
  const rows: R[] = [];
  try {
    for (const workload of options.workloads) {
      for (const connections of args.connections) {
        try {
          const run = (mode: TlsMode, seconds: number) => {
            const m = modes[mode];
            return options.measure(workload, m.target, connections, seconds, db.pid, m.proxyPid, m.connect);
          };
          if (args.warmupSeconds > 0) for (const mode of TLS_MODES) await run(mode, args.warmupSeconds);
          const slots = Object.fromEntries(TLS_MODES.map((mode) => [mode, [] as S[]])) as unknown as Record<TlsMode, S[]>;
          for (let round = 1; round <= args.rounds; round++) {
            for (const mode of TLS_MODES) {
              const slot = await run(mode, args.durationSeconds / args.rounds);
              slots[mode].push(slot);
              log(`  ${workload.name} ×${connections} ${mode.padEnd(12)} round ${round}/${args.rounds}: ${Math.round(slot.qps).toLocaleString('en-US')} qps${slot.errors > 0 ? `, ${slot.errors} errors (${slot.firstError})` : ''}`);
            }
          }
          const directQps = new Map<string, number>();
          for (const mode of TLS_MODES) {
            const isProxy = mode.startsWith('proxy-');
            const row = options.toRow(workload.name, connections, mode, slots[mode], isProxy ? directQps.get(mode.replace('proxy-', 'direct-')) : undefined);
            if (!isProxy) directQps.set(mode, row.qps);
            rows.push(row);
          }
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          log(`  ${workload.name} ×${connections} (TLS cells): failed: ${message}`);
          for (const mode of TLS_MODES) rows.push(options.failedRow(workload.name, connections, mode, message));
        }
      }
    }
  } finally {
    await Promise.all([plainProxy.stop(), tlsProxy.stop()]);
  }
  return rows;
}
