/**
 * Child-process plumbing shared by the throwaway-server and proxy starters.
 */
import type { Subprocess } from 'bun';
import { readdirSync, readFileSync, statSync } from 'node:fs';

export type Signal = NodeJS.Signals;

/**
 * A watchdog kills a server the harness started, and removes its scratch
 * directory, once the test process is gone: a test forgot `stop()`, or the
 * run crashed or was interrupted. `bun test` exits without emitting 'exit',
 * so an exit hook cannot do this; a pipe can. The watchdog is a tiny `sh`
 * blocked reading its stdin, whose write end only this process holds. When
 * this process ends in any way, even SIGKILL, the kernel closes the pipe and
 * the shell goes on to clean up.
 *
 * Module-level state: the armed watchdogs, so that their pipes stay open (a
 * garbage-collected pipe would close and fire the watchdog early).
 */
const armedWatchdogs = new Set<Subprocess<'pipe', 'ignore', 'ignore'>>();

const WATCHDOG_SCRIPT = [
  'while read -r _; do :; done', // ends at EOF: the process that armed us is gone
  'if [ "$1" != 0 ]; then',
  '  if [ "$3" = tree ]; then pkill -KILL -P "$1"; fi',
  '  kill -KILL "$1" 2>/dev/null',
  '  if [ "$3" = tree ]; then sleep 0.2; fi', // let children still writing to the dir die
  'fi',
  'if [ -n "$2" ]; then rm -rf -- "$2"; fi',
].join('\n');

export interface Watchdog {
  /** Stops the watchdog without it doing anything; call once the server is stopped. Idempotent. */
  disarm(): void;
}

/**
 * Arms a watchdog for `pid` (0: none, only the directory) and `dir`. With
 * `isTree`, the pid's children are killed as well (PostgreSQL backends).
 */
export function armWatchdog(pid: number, options: { dir?: string; isTree?: boolean } = {}): Watchdog {
  const proc = Bun.spawn(
    ['sh', '-c', WATCHDOG_SCRIPT, 'tqdb-watchdog', String(pid), options.dir ?? '', options.isTree === true ? 'tree' : ''],
    { stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' },
  );
  // The watchdog must never keep the test process alive.
  proc.unref();
  armedWatchdogs.add(proc);
  return {
    disarm: () => {
      if (!armedWatchdogs.delete(proc)) return;
      // Kill first: closing our end while it runs would fire it.
      proc.kill('SIGKILL');
      void proc.exited.then(() => proc.stdin.end()).catch(() => {});
    },
  };
}

/** Whether the process has not exited yet (its exit has not been observed). */
export function isRunning(proc: Subprocess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/**
 * Resolves with the exit code once `proc` exits, or with `undefined` when
 * `timeoutMs` passes first.
 */
export async function waitForExit(proc: Subprocess, timeoutMs: number): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs. Resolves
 * with the exit code (Bun reports 128 + signal number for a signalled exit).
 */
export async function terminate(proc: Subprocess, signal: Signal, graceMs: number): Promise<number> {
  if (!isRunning(proc)) return proc.exited;
  proc.kill(signal);
  const code = await waitForExit(proc, graceMs);
  if (code !== undefined) return code;
  proc.kill('SIGKILL');
  return proc.exited;
}

/** Pids of every live descendant of `pid` (children first, then theirs). */
export function descendantPids(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const parent = readParentPid(child);
    if (parent === undefined) continue;
    const list = childrenOf.get(parent);
    if (list === undefined) childrenOf.set(parent, [child]);
    else list.push(child);
  }
  const result: number[] = [];
  const queue = [pid];
  for (let i = 0; i < queue.length; i++) {
    for (const child of childrenOf.get(queue[i]) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

function readParentPid(pid: number): number | undefined {
  const fields = readStatFields(pid);
  if (fields === undefined) return undefined;
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/**
 * The fields of `/proc/<pid>/stat` after the command name, i.e. starting at
 * field 3 (state): index 0 is state, 1 ppid, 11 utime, 12 stime (proc(5)).
 * The command name may contain spaces and parentheses, hence the last ')'.
 */
export function readStatFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited (and was reaped) meanwhile
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Whether `pid` has finished: gone, or a zombie. A killed postgres backend is
 * reparented away from us, and its new parent may reap it late.
 */
export function hasExited(pid: number): boolean {
  const fields = readStatFields(pid);
  return fields === undefined || fields[0] === 'Z' || fields[0] === 'X';
}

/** Sends `signal` to a pid that may already be gone. */
export function signalPid(pid: number, signal: Signal): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already exited.
  }
}

/**
 * The last `maxChars` characters of a file from byte `fromByte` on, or ''
 * when it cannot be read. `fromByte` skips what earlier runs of a restarted
 * server wrote to the same log.
 */
export function tailOfFile(path: string, maxChars = 4000, fromByte = 0): string {
  try {
    const text = readFileSync(path).subarray(fromByte).toString('utf8');
    return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
  } catch {
    return '';
  }
}

/** Size of a file in bytes, 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Runs a command to completion and resolves with its stdout; rejects with its
 * output on a non-zero exit or when it cannot be started.
 */
/**
 * Runs a command-line database client to completion and resolves with its
 * exit code and output; it is killed after `timeoutMs`. A non-zero exit is a
 * result, not a rejection.
 */
export async function runClient(argv: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env } });
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    void terminate(proc, 'SIGKILL', 0);
  }, timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr: isTimedOut ? `${stderr}\n[killed after ${timeoutMs} ms]` : stderr };
  } finally {
    clearTimeout(timer);
  }
}

export async function runCommand(argv: string[], options: { stdin?: string } = {}): Promise<string> {
  let proc: Subprocess<'pipe' | 'ignore', 'pipe', 'pipe'>;
  try {
    proc = Bun.spawn(argv, {
      stdin: options.stdin === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    });
  } catch (error) {
    throw new Error(`cannot run ${argv[0]}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stdin = proc.stdin;
  if (options.stdin !== undefined && stdin !== undefined && typeof stdin !== 'number') {
    stdin.write(options.stdin);
    await stdin.end();
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) {
    throw new Error(`${argv.join(' ')} exited with code ${code}:\n${stderr}${stdout}`);
  }
  return stdout;
}
