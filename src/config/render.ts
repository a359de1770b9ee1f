/**
 * The effective configuration as INI: what `--check-config` prints, and what a
 * reload compares to find changed keys. The output loads back into the same
 * Config (a unit test checks the round trip).
 */
import { keysOf, PROTOCOLS, protocolSchema, ProxySection } from './schema.ts';
import type { Config, ProtocolConfig } from './types.ts';

export interface RenderedSection {
  /** Section name without brackets. */
  readonly name: string;
  /** Key → value as INI text, in schema order. */
  readonly keys: ReadonlyMap<string, string>;
}

/** Every section and key of the effective config, defaults included, in schema order. */
export function configSections(config: Config): RenderedSection[] {
  const proxy = new Map<string, string>([
    ['metrics_listen', config.metricsListen.text],
    ['log_level', config.logLevel],
    ['log_format', config.logFormat],
    ['shutdown_timeout_ms', String(config.shutdownTimeoutMs)],
    ['metrics_max_call_sites', String(config.metricsMaxCallSites)],
    ['cache_max_bytes', String(config.cache.maxBytes)],
    ['cache_max_entry_bytes', String(config.cache.maxEntryBytes)],
    ['cache_wait_timeout_ms', String(config.cache.waitTimeoutMs)],
    ['cache_stale_factor', String(config.cache.staleFactor)],
  ]);
  assertCovers('proxy', keysOf(ProxySection), proxy);
  const sections: RenderedSection[] = [{ name: 'proxy', keys: proxy }];
  for (const protocol of PROTOCOLS) {
    const protocolConfig = protocol === 'mariadb' ? config.mariadb : config.postgres;
    if (protocolConfig !== null) sections.push(...protocolSections(protocol, protocolConfig));
  }
  return sections;
}

function protocolSections(protocol: 'mariadb' | 'postgres', config: ProtocolConfig): RenderedSection[] {
  const wb = config.writeBatch;
  const keys = new Map<string, string>([
    ['listen', config.listen.text],
    ['socket', config.socket ?? ''],
    ['default', config.defaultGroup],
    ['max_packet_size', String(config.maxPacketSize)],
    ['max_client_connections', String(config.maxClientConnections)],
    ['max_pending_handshakes', String(config.maxPendingHandshakes)],
    ['handshake_timeout_ms', String(config.handshakeTimeoutMs)],
    ['backend_connect_timeout_ms', String(config.backendConnectTimeoutMs)],
    ['writebatch_enabled', String(wb.enabled)],
    ['writebatch_initial_delay_ms', String(wb.initialDelayMs)],
    ['writebatch_max_delay_ms', String(wb.maxDelayMs)],
    ['writebatch_min_delay_ms', String(wb.minDelayMs)],
    ['writebatch_max_batch_size', String(wb.maxBatchSize)],
    ['writebatch_write_threshold', String(wb.writeThreshold)],
    ['writebatch_adaptive_step', String(wb.adaptiveStep)],
    ['writebatch_metrics_interval', String(wb.metricsIntervalSeconds)],
    ['writebatch_timeout_ms', String(wb.timeoutMs)],
    ['writebatch_max_concurrent_batches', String(wb.maxConcurrentBatches)],
    ['writebatch_probe_interval_ms', String(wb.probeIntervalMs)],
    ['tls_mode', config.tls.mode],
    ['tls_cert_file', config.tls.certFile ?? ''],
    ['tls_key_file', config.tls.keyFile ?? ''],
    ['tls_ca_file', config.tls.caFile ?? ''],
  ]);
  assertCovers(protocol, keysOf(protocolSchema(protocol)), keys);
  const sections: RenderedSection[] = [{ name: protocol, keys }];
  for (const group of config.groups.values()) {
    const groupKeys = new Map([
      ['primary', group.primary.text],
      ['replicas', group.replicas.map((r) => r.text).join(',')],
      ['databases', group.databases.join(',')],
      ['backend_tls', group.tls.mode],
      ['backend_tls_ca_file', group.tls.caFile ?? ''],
    ]);
    sections.push({ name: `${protocol}.${group.name}`, keys: groupKeys });
  }
  return sections;
}

/** A schema key this file forgot would silently vanish from --check-config and reload diffs. */
function assertCovers(section: string, schemaKeys: readonly string[], rendered: ReadonlyMap<string, string>): void {
  if (schemaKeys.length !== rendered.size || schemaKeys.some((k) => !rendered.has(k))) {
    throw new Error(`invariant: render.ts does not cover the schema of [${section}]`);
  }
}

/** The effective config as an INI document. */
export function renderConfigIni(config: Config): string {
  const lines = [`; effective configuration from ${config.sourceFile ?? 'built-in defaults'} and the environment`];
  for (const section of configSections(config)) {
    lines.push('', `[${section.name}]`);
    for (const [key, value] of section.keys) lines.push(value === '' ? `${key} =` : `${key} = ${iniValue(value)}`);
  }
  if (config.postgres === null) lines.push('', '; postgres is disabled: there is no [postgres] section');
  return `${lines.join('\n')}\n`;
}

/** Quotes values `ini` would otherwise cut at a comment character or trim. */
function iniValue(value: string): string {
  return /[;#"']/.test(value) || value !== value.trim() ? JSON.stringify(value) : value;
}
