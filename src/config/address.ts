import type { Address } from './types.ts';

/**
 * Which side an address is for. Listeners accept port 0 (the kernel picks a
 * free port; tests rely on it) and `:port` for all interfaces; backends need a
 * real host and a port from 1 to 65535.
 */
export type AddressUse = 'listen' | 'backend';

export const ADDRESS_EXPECTED: Readonly<Record<AddressUse, string>> = {
  listen: 'host:port, :port or unix:/path with port 0-65535',
  backend: 'host:port, [ipv6]:port or unix:/path with port 1-65535',
};

/** sun_path is 108 bytes on Linux, including the terminating NUL. */
export const UNIX_PATH_MAX_BYTES = 107;

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const PORT = /^[0-9]{1,5}$/;

/** Parses `host:port`, `:port`, `[v6]:port` or `unix:/path`; null when the text is none of them. */
export function parseAddress(text: string, use: AddressUse): Address | null {
  const s = text.trim();
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (path.length === 0 || Buffer.byteLength(path) > UNIX_PATH_MAX_BYTES || path.includes('\0')) return null;
    return { kind: 'unix', path, text: `unix:${path}` };
  }

  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return null;
    host = s.slice(1, close);
    portText = s.slice(close + 2);
    if (!IPV6.test(host) || !host.includes(':')) return null;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return null;
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    // An unbracketed IPv6 literal is ambiguous about where the port starts.
    if (host.includes(':')) return null;
    if (host.length === 0) {
      if (use === 'backend') return null;
      host = '0.0.0.0';
    } else if (host.length > 253 || !HOSTNAME.test(host)) {
      return null;
    }
  }

  if (!PORT.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && use === 'backend')) return null;
  return { kind: 'tcp', host, port, text: formatHostPort(host, port) };
}

/** `host:port`, bracketing IPv6 literals so the result parses back to the same address. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether two listen addresses would compete for the same socket (port 0 never collides). */
export function listenAddressesOverlap(a: Address, b: Address): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') {
    return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path;
  }
  if (a.port === 0 || a.port !== b.port) return false;
  return a.host === b.host || isWildcardHost(a.host) || isWildcardHost(b.host);
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
