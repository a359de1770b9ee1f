/**
 * The process's open-file limit (RLIMIT_NOFILE), read and raised through libc
 * with bun:ffi, since neither Bun nor node:process exposes setrlimit.
 *
 * Why raise it: every client holds two descriptors (its socket and its
 * backend's), so the usual soft limit of 1024 caps a proxy near 500 clients
 * while the hard limit allows far more. PgBouncer raises the soft limit to the
 * hard one at start for the same reason.
 *
 * Why probe: Bun reports a connect() that failed with EMFILE as ECONNREFUSED
 * ("Failed to connect"), which reads like a dead backend. A failed connect
 * therefore checks whether the process can open a descriptor at all.
 */
import { closeSync, openSync, readdirSync } from 'node:fs';

/** Linux x86-64/arm64 value of RLIMIT_NOFILE in <sys/resource.h>. */
const RLIMIT_NOFILE = 7;

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

interface Libc {
  getrlimit(resource: number, rlim: Uint8Array): number;
  setrlimit(resource: number, rlim: Uint8Array): number;
}

/**
 * The libc handle, opened on first use and never changed after: a process-wide
 * binding like the runtime's own, not state any connection owns.
 */
let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc === undefined) libc = openLibc();
  return libc;
}

function openLibc(): Libc | null {
  if (process.platform !== 'linux') return null;
  try {
    // Loaded lazily so that --help and --check-config never touch FFI.
    const ffi = require('bun:ffi') as typeof import('bun:ffi');
    const { symbols } = ffi.dlopen('libc.so.6', {
      getrlimit: { args: [ffi.FFIType.i32, ffi.FFIType.ptr], returns: ffi.FFIType.i32 },
      setrlimit: { args: [ffi.FFIType.i32, ffi.FFIType.ptr], returns: ffi.FFIType.i32 },
    });
    return symbols as unknown as Libc;
  } catch {
    return null;
  }
}

/** struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; } with 64-bit rlim_t. */
function readRlimit(buf: Uint8Array): OpenFileLimit {
  const view = new DataView(buf.buffer, buf.byteOffset, 16);
  // RLIM_INFINITY is all ones; clamp to a safe integer.
  const toNumber = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
  return { soft: toNumber(view.getBigUint64(0, true)), hard: toNumber(view.getBigUint64(8, true)) };
}

/** The current limit, or null where it cannot be read (not Linux, no libc). */
export function openFileLimit(): OpenFileLimit | null {
  const c = loadLibc();
  if (c === null) return null;
  const buf = new Uint8Array(16);
  return c.getrlimit(RLIMIT_NOFILE, buf) === 0 ? readRlimit(buf) : null;
}

/**
 * Raises the soft limit to the hard limit. Returns the limits before and
 * after, or null when they cannot be read; a failed raise leaves them as they were.
 */
export function raiseOpenFileLimit(): { before: OpenFileLimit; after: OpenFileLimit } | null {
  const c = loadLibc();
  if (c === null) return null;
  const buf = new Uint8Array(16);
  if (c.getrlimit(RLIMIT_NOFILE, buf) !== 0) return null;
  const before = readRlimit(buf);
  if (before.soft >= before.hard) return { before, after: before };
  const view = new DataView(buf.buffer, 0, 16);
  view.setBigUint64(0, view.getBigUint64(8, true), true);
  if (c.setrlimit(RLIMIT_NOFILE, buf) !== 0) return { before, after: before };
  const check = new Uint8Array(16);
  return { before, after: c.getrlimit(RLIMIT_NOFILE, check) === 0 ? readRlimit(check) : before };
}

/** Descriptors this process has open, or null when /proc is not there (diagnostics only: it reads a directory). */
export function openFileCount(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/** Descriptors kept free for the listener, the metrics server, logs and config reloads. */
export const RESERVED_FDS = 64;

/**
 * True when the process cannot open one more descriptor: what a failed
 * connect means when this holds, whatever errno Bun reported. It probes by
 * opening /dev/null (O(1), unlike counting /proc/self/fd, which blocked the
 * event loop for milliseconds per failure during a connect storm).
 */
export function isOutOfFileDescriptors(): boolean {
  try {
    closeSync(openSync('/dev/null', 'r'));
    return false;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'EMFILE' || code === 'ENFILE';
  }
}

/** Clients the limit allows: each holds its own socket and a backend socket. */
export function clientsForLimit(limit: OpenFileLimit | null): number {
  if (limit === null) return 0;
  return Math.max(1, Math.floor((limit.soft - RESERVED_FDS) / 2));
}
