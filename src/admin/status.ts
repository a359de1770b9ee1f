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

export function statusRows(status: ConnectionStatus): string[][] {
  return [
    ['Shard', status.shard],
    ['Backend', status.answeredBy],
    ['CacheAge', status.cacheAgeSeconds === null ? '' : String(Math.floor(status.cacheAgeSeconds))],
    ['LastBatchSize', status.lastBatchSize === null ? '' : String(status.lastBatchSize)],
    ['InTransaction', status.isInTransaction ? '1' : '0'],
  ];
}

/** True for `SHOW TQDB STATUS` with any case, spacing, comments already stripped and an optional `;`. */
export function isStatusCommand(hintFreeText: string): boolean {
  return /^show\s+tqdb\s+status\s*;?\s*$/i.test(hintFreeText.trim());
}
