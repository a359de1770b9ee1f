/**
 * Bench results as JSON under bench/results/, so runs can be compared with a
 * saved baseline. Each document states the machine: absolute figures are only
 * comparable on the same machine, ratios travel better (STYLE.md §10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export const RESULTS_DIR = resolve(import.meta.dir, '..', 'results');

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  kernel: string;
  bun: string;
  /** Versions of the databases or tools involved, filled in by the bench. */
  software: Record<string, string>;
}

export function machineInfo(software: Record<string, string> = {}): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cpuCount: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    bun: Bun.version,
    software,
  };
}

/** `2026-11-27T03-04-20Z`: sortable and safe in file names. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Writes `document` to bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResults(name: string, document: unknown, date = new Date()): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}-${fileTimestamp(date)}.json`);
  writeFileSync(path, `${JSON.stringify(document, jsonReplacer, 2)}\n`);
  return path;
}

/** JSON has no NaN or Infinity; write null instead of silently producing invalid JSON. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** The database every bench keeps its tables in, away from the tests' `test` database. */
export const BENCH_DATABASE = 'tqdb_bench';
