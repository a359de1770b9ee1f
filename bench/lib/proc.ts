/**
 * CPU accounting from /proc, for figures such as "mariadbd CPU time per
 * operation" (the batching issue requires it) and "proxy CPU per query".
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { descendantPids, readStatFields } from '../../test/support/process.ts';

let cachedClockTicks: number | undefined;

/** Kernel clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat times. */
export function clockTicksPerSecond(): number {
  if (cachedClockTicks !== undefined) return cachedClockTicks;
  const result = Bun.spawnSync(['getconf', 'CLK_TCK'], { stdout: 'pipe', stderr: 'ignore' });
  const ticks = Number(result.stdout.toString().trim());
  cachedClockTicks = result.exitCode === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  return cachedClockTicks;
}

/**
 * User plus system CPU seconds a process has used so far, across all its
 * threads (utime + stime of /proc/<pid>/stat). Resolution is one clock tick
 * (10 ms), so measure over intervals of seconds. Throws if the pid is gone.
 */
export function processCpuSeconds(pid: number): number {
  const fields = readStatFields(pid);
  if (fields === undefined) throw new Error(`process ${pid} does not exist`);
  // Indexes count from field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

/**
 * CPU seconds of a process and all its live descendants, plus the children it
 * has already reaped (cutime + cstime). For multi-process servers such as
 * PostgreSQL; CPU of a descendant that exited unreaped between samples is lost.
 */
export function processTreeCpuSeconds(pid: number): number {
  const fields = readStatFields(pid);
  if (fields === undefined) throw new Error(`process ${pid} does not exist`);
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  for (const child of descendantPids(pid)) {
    const childFields = readStatFields(child);
    if (childFields !== undefined) ticks += Number(childFields[11]) + Number(childFields[12]);
  }
  return ticks / clockTicksPerSecond();
}

/**
 * Resident set size of a process in bytes (VmRSS of /proc/<pid>/status):
 * what memory-per-item figures are read from. Throws if the pid is gone.
 */
export function processRssBytes(pid: number): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw new Error(`process ${pid} does not exist`);
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (match === null) throw new Error(`process ${pid} reports no VmRSS (a zombie?)`);
  return Number(match[1]) * 1024;
}

/** Pids whose command name (/proc/<pid>/comm) is exactly `name`. */
export function findPids(name: string): number[] {
  const pids: number[] = [];
  for (const pid of numericEntries('/proc')) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name) pids.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
}

/**
 * The pid of the process named `name`. With `port`, the one listening on that
 * TCP port (e.g. the shared mariadbd on 3306 among throwaway ones); without,
 * the only one, and an error when there are none or several.
 */
export function findPid(name: string, port?: number): number {
  const candidates = findPids(name);
  if (port !== undefined) {
    const listener = pidListeningOn(port);
    if (listener === undefined || !candidates.includes(listener)) {
      throw new Error(`no ${name} process listens on port ${port} (${name} pids: ${candidates.join(', ') || 'none'})`);
    }
    return listener;
  }
  if (candidates.length !== 1) {
    throw new Error(`expected one ${name} process, found ${candidates.length === 0 ? 'none' : candidates.join(', ')}; pass the port`);
  }
  return candidates[0];
}

/** The pid owning the TCP socket listening on `port` (IPv4 or IPv6), if any. */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = Number.parseInt(cols[1].slice(cols[1].lastIndexOf(':') + 1), 16);
      // State 0A is TCP_LISTEN.
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of numericEntries('/proc')) {
    let fds: number[];
    try {
      fds = numericEntries(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match !== null && inodes.has(match[1])) return pid;
    }
  }
  return undefined;
}

function numericEntries(dir: string): number[] {
  return readdirSync(dir)
    .map(Number)
    .filter((n) => Number.isInteger(n));
}

/**
 * CPU seconds one process uses between `start()` and `stop()`: what a
 * measured slot reads for "database (or proxy) CPU per operation".
 */
export class CpuWindow {
  private startSeconds = 0;
  /** The last window's CPU seconds (0 before the first `stop()`). */
  seconds = 0;

  constructor(readonly pid: number) {}

  start(): void {
    this.startSeconds = processCpuSeconds(this.pid);
  }

  stop(): number {
    this.seconds = processCpuSeconds(this.pid) - this.startSeconds;
    return this.seconds;
  }
}

/** This process's soft limit on open files (/proc/self/limits); Infinity when unlimited. */
export function openFileLimit(): number {
  const match = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (match === null || match[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(match[1]);
}

/**
 * Put before a command that needs `needed` file descriptors: `prlimit
 * --nofile=N:N --` when this process's limit (which a child inherits) is
 * lower, else nothing. Raising the hard limit needs root, as benches run here.
 */
export function fileLimitPrefix(needed: number): string[] {
  return openFileLimit() >= needed ? [] : ['prlimit', `--nofile=${needed}:${needed}`, '--'];
}

/** Raises a running process's open-file limit to `needed` (prlimit(1)) when this process's is lower. */
export function raiseFileLimit(pid: number, needed: number): void {
  if (openFileLimit() >= needed) return;
  const result = Bun.spawnSync(['prlimit', `--pid=${pid}`, `--nofile=${needed}:${needed}`], { stdout: 'ignore', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`prlimit --pid=${pid} --nofile=${needed} failed: ${result.stderr.toString().trim()}`);
}
