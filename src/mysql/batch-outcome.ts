// What each member of a pipelined BEGIN … COMMIT batch gets, from the answers
// the server gave. Pure: the batcher turns the verdicts into packets.
import { errCodeOf, isErrResponse, readOkHeader } from './batch-sql.ts';
import { ServerStatus } from './wire/constants.ts';

const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * - `own`: the member's own OK or ERR is its result (committed, or failed on its own);
 * - `commit-error`: it ran inside the transaction and the COMMIT failed, so nothing was committed;
 * - `lost`: its answer or the COMMIT's never came back; the outcome is unknown, as for a direct client;
 * - `redo`: it did not take effect (rolled back with the whole transaction, or its prepare failed): run it again on its own.
 */
export type MemberVerdict = 'own' | 'commit-error' | 'lost' | 'redo';

export interface MemberAnswer {
  /** The member's captured response, or null when the connection was lost before it. */
  bytes: Uint8Array | null;
  /** The proxy's prepare of this member's statement failed, so its execute never ran. */
  isPrepareFailed: boolean;
}

/**
 * Decides every member's verdict. A statement error does not end a MariaDB
 * transaction, but a deadlock (and a lock wait timeout under
 * innodb_rollback_on_timeout) rolls it back whole: the members before it lost
 * their effects and run again; the members after it ran in autocommit, which
 * their OKs show by a cleared in-transaction flag, and keep their results.
 * If BEGIN itself failed, every OK lacks that flag and stands on its own.
 * `commit` is the COMMIT's response, or null when it was lost.
 */
export function judgeTransaction(answers: readonly MemberAnswer[], commit: Uint8Array | null, isRollbackOnTimeout: boolean): MemberVerdict[] {
  const verdicts: MemberVerdict[] = [];
  const isInTransaction: boolean[] = [];
  let isRolledBack = false;
  answers.forEach((answer, i) => {
    isInTransaction.push(false);
    if (answer.bytes === null) {
      verdicts.push('lost');
      return;
    }
    if (answer.isPrepareFailed) {
      verdicts.push('redo');
      return;
    }
    if (isErrResponse(answer.bytes)) {
      const code = errCodeOf(answer.bytes);
      if (!isRolledBack && (code === ER_LOCK_DEADLOCK || (code === ER_LOCK_WAIT_TIMEOUT && isRollbackOnTimeout))) {
        isRolledBack = true;
        for (let j = 0; j < i; j++) if (verdicts[j] === 'own' && isInTransaction[j]) verdicts[j] = 'redo';
        verdicts.push('redo');
        return;
      }
      verdicts.push('own');
      return;
    }
    isInTransaction[i] = (readOkHeader(answer.bytes).statusFlags & ServerStatus.InTrans) !== 0;
    verdicts.push('own');
  });
  const isCommitFailed = commit !== null && isErrResponse(commit);
  return verdicts.map((verdict, i) => {
    if (verdict !== 'own' || !isInTransaction[i]) return verdict;
    if (commit === null) return 'lost';
    return isCommitFailed ? 'commit-error' : 'own';
  });
}
