// SHOW TQDB STATUS: the proxy's own answer about one connection, as neutral rows.

/** Where the last statement of a connection was answered from. */
export type AnsweredBy = 'primary' | `replicas[${number}]` | 'cache' | 'cache (stale)' | 'write-batch' | 'none';

export interface ConnectionStatus {
  shard: string;
  answeredBy: AnsweredBy;
  cacheAgeSeconds: number | null;
  lastBatchSize: number | null;
  isInTransaction: boolean;
}

export const STATUS_COLUMNS = ['Variable_name', 'Value'] as const;

/** The rows, filtered by a SHOW ... LIKE pattern when one is given (matched without case, as the server does). */
export function statusRows(like: string | null, status: ConnectionStatus): string[][] {
  const rows = [
    ['Shard', status.shard],
    ['Backend', status.answeredBy],
    ['CacheAge', status.cacheAgeSeconds === null ? '' : String(Math.floor(status.cacheAgeSeconds))],
    ['LastBatchSize', status.lastBatchSize === null ? '' : String(status.lastBatchSize)],
    ['InTransaction', status.isInTransaction ? '1' : '0'],
  ];
  if (like === null) return rows;
  const pattern = likePattern(like);
  return rows.filter(([name]) => pattern.test(name!));
}

/** SQL LIKE (% and _, backslash escapes) as an anchored, case-insensitive RegExp. */
function likePattern(like: string): RegExp {
  let source = '';
  for (let i = 0; i < like.length; i++) {
    const c = like[i]!;
    if (c === '\\' && i + 1 < like.length) source += escapeRegExp(like[++i]!);
    else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 'is');
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

const STATUS_COMMAND = /^show\s+tqdb\s+status(?:\s+like\s+(?:'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.|"")*)"))?\s*;?\s*$/is;

/**
 * `SHOW TQDB STATUS [LIKE 'pattern']` with any case and spacing (comments
 * already stripped): null for anything else, which goes to the server.
 */
export function parseStatusCommand(hintFreeText: string): { like: string | null } | null {
  const m = STATUS_COMMAND.exec(hintFreeText.trim());
  if (m === null) return null;
  const quoted = m[1] ?? m[2];
  if (quoted === undefined) return { like: null };
  return { like: m[1] !== undefined ? quoted.replace(/''/g, "'") : quoted.replace(/""/g, '"') };
}

/** True for `SHOW TQDB STATUS [LIKE ...]` with any case, spacing, comments already stripped and an optional `;`. */
export function isStatusCommand(hintFreeText: string): boolean {
  return parseStatusCommand(hintFreeText) !== null;
}
