/**
 * SIGHUP reload: build and validate a complete new Config, then hand it over
 * in one step. Keys that only take effect at start-up (schema `restart: true`:
 * listen, socket, metrics_listen, and whether PostgreSQL is enabled at all)
 * keep their running values in the returned config, and are listed so the
 * caller can warn about them.
 */
import { loadConfig, type LoadOptions } from './load.ts';
import { configSections } from './render.ts';
import { needsRestart, PROTOCOLS, protocolSchema, ProxySection } from './schema.ts';
import type { Config } from './types.ts';

export interface PendingRestartChange {
  readonly section: string;
  readonly key: string;
  readonly running: string;
  readonly requested: string;
}

export interface ReloadResult {
  /** The config to swap in: the new one, with restart-only keys kept at their running values. */
  readonly config: Config;
  /** Restart-only keys whose new value was not applied. */
  readonly pendingRestart: readonly PendingRestartChange[];
  /** Every `[section] key` whose effective value changed and was applied. */
  readonly changed: readonly string[];
}

/**
 * Loads the config again with the same options and reconciles it with the
 * running one.
 * @throws ConfigError when the new config is invalid; the caller keeps the running config.
 */
export function reloadConfig(running: Config, options: LoadOptions): ReloadResult {
  return reconcileReload(running, loadConfig(options));
}

/** Pure part of reloadConfig, for when the new Config is already built. */
export function reconcileReload(running: Config, next: Config): ReloadResult {
  const pendingRestart: PendingRestartChange[] = [];
  const restartKeys = (schemaKeys: Record<string, unknown>): Set<string> =>
    new Set(Object.entries(schemaKeys).filter(([, s]) => needsRestart(s as never)).map(([k]) => k));

  const proxyRestart = restartKeys(ProxySection.properties);
  let metricsListen = next.metricsListen;
  if (proxyRestart.has('metrics_listen') && running.metricsListen.text !== next.metricsListen.text) {
    pendingRestart.push({ section: 'proxy', key: 'metrics_listen', running: running.metricsListen.text, requested: next.metricsListen.text });
    metricsListen = running.metricsListen;
  }

  let mariadb = next.mariadb;
  let postgres = next.postgres;
  for (const protocol of PROTOCOLS) {
    const before = running[protocol];
    const after = next[protocol];
    if (before === null || after === null) {
      if (before !== after) {
        pendingRestart.push({
          section: protocol,
          key: '(section)',
          running: before === null ? 'disabled' : 'enabled',
          requested: after === null ? 'disabled' : 'enabled',
        });
        if (protocol === 'postgres') postgres = before;
      }
      continue;
    }
    const keys = restartKeys(protocolSchema(protocol).properties);
    let listen = after.listen;
    let socket = after.socket;
    if (keys.has('listen') && before.listen.text !== after.listen.text) {
      pendingRestart.push({ section: protocol, key: 'listen', running: before.listen.text, requested: after.listen.text });
      listen = before.listen;
    }
    if (keys.has('socket') && before.socket !== after.socket) {
      pendingRestart.push({ section: protocol, key: 'socket', running: before.socket ?? '', requested: after.socket ?? '' });
      socket = before.socket;
    }
    if (listen !== after.listen || socket !== after.socket) {
      const kept = Object.freeze({ ...after, listen, socket });
      if (protocol === 'mariadb') mariadb = kept;
      else postgres = kept;
    }
  }

  const config =
    metricsListen === next.metricsListen && mariadb === next.mariadb && postgres === next.postgres
      ? next
      : Object.freeze({ ...next, metricsListen, mariadb, postgres });
  return { config, pendingRestart, changed: changedKeys(running, config) };
}

/** `[section] key` for every value that differs, including added and removed groups. */
export function changedKeys(a: Config, b: Config): string[] {
  const flatten = (config: Config): Map<string, string> => {
    const out = new Map<string, string>();
    for (const section of configSections(config)) {
      for (const [key, value] of section.keys) out.set(`[${section.name}] ${key}`, value);
    }
    return out;
  };
  const before = flatten(a);
  const after = flatten(b);
  const changed: string[] = [];
  for (const [key, value] of after) if (before.get(key) !== value) changed.push(key);
  for (const key of before.keys()) if (!after.has(key)) changed.push(key);
  return changed;
}
