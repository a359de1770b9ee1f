import type { SessionView } from '../core/types.ts';
import { ServerStatus } from './wire/constants.ts';

/**
 * One client session's state as far as the proxy tracks it. Transaction and
 * autocommit state come from the server's status flags; the database and
 * character set from the handshake and from the commands that change them.
 */
export class MysqlSession implements SessionView {
  readonly protocol = 'mariadb' as const;
  group: string;
  user = '';
  database: string | null = null;
  charset = '';
  capabilities = 0;
  statusFlags: number = ServerStatus.Autocommit;
  hasUntrackedState = false;
  /** Explicit LOCK TABLES (not reflected in the status flags). */
  hasTableLocks = false;

  constructor(group: string) {
    this.group = group;
  }

  get isInTransaction(): boolean {
    return (this.statusFlags & ServerStatus.InTrans) !== 0 || this.hasTableLocks;
  }

  get isAutocommit(): boolean {
    return (this.statusFlags & ServerStatus.Autocommit) !== 0;
  }

  /** Applies the status flags of a response's final OK or EOF packet. */
  applyStatus(statusFlags: number): void {
    if (statusFlags >= 0) this.statusFlags = statusFlags;
  }

  /** COM_CHANGE_USER and COM_RESET_CONNECTION start the session over. */
  resetState(): void {
    this.hasUntrackedState = false;
    this.hasTableLocks = false;
  }
}
