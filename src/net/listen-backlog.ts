/**
 * Deepens a Bun listener's accept queue to the kernel's maximum.
 *
 * Why: Bun 1.4 calls listen(fd, 512) whatever it is asked. A burst of
 * connects larger than that overflows the queue; Linux then drops the
 * clients' handshake ACKs and retries its SYN-ACK on a doubling schedule, so
 * a client that thinks it is connected can wait 30 s or more for a greeting.
 * Calling listen() again on a listening socket only changes its backlog, and
 * the kernel caps the value at net.core.somaxconn.
 *
 * Bun does not expose the listener's descriptor, so it is found the way `ss`
 * finds it: the socket inode of the LISTEN entry for the port in
 * /proc/net/tcp{,6}, then the descriptor in /proc/self/fd that links to it.
 * Start-up only; nothing here runs per connection.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Asked for; the kernel caps it at net.core.somaxconn. */
const WANTED_BACKLOG = 65535;
const TCP_LISTEN = '0A';

/** Whether the TCP listener on `port` now has the deeper queue. Never throws. */
export function deepenListenBacklog(port: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const inodes = listeningInodes(port);
    if (inodes.size === 0) return false;
    const listen = libcListen();
    if (listen === null) return false;
    let isDeepened = false;
    for (const name of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${name}`);
      } catch {
        continue; // closed meanwhile
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match !== null && inodes.has(match[1]!) && listen(Number(name), WANTED_BACKLOG) === 0) isDeepened = true;
    }
    return isDeepened;
  } catch {
    return false;
  }
}

/** Inodes of the sockets in LISTEN state on `port`, over IPv4 and IPv6. */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
      if (fields[1]!.endsWith(`:${hexPort}`)) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

function libcListen(): ((fd: number, backlog: number) => number) | null {
  try {
    // Loaded lazily so that --help and --check-config never touch FFI.
    const ffi = require('bun:ffi') as typeof import('bun:ffi');
    const { symbols } = ffi.dlopen('libc.so.6', { listen: { args: [ffi.FFIType.i32, ffi.FFIType.i32], returns: ffi.FFIType.i32 } });
    return symbols.listen as (fd: number, backlog: number) => number;
  } catch {
    return null;
  }
}
