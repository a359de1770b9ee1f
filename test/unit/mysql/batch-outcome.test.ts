import { describe, expect, it } from 'bun:test';
import { judgeTransaction, type MemberAnswer } from '../../../src/mysql/batch-outcome.ts';
import { err, ok, packet } from '../../support/bytes.ts';

const IN_TRANS = 0x0001;
const AUTOCOMMIT = 0x0002;

const okInTx = (): MemberAnswer => ({ bytes: packet(1, ok(AUTOCOMMIT | IN_TRANS, 1, 0)), isPrepareFailed: false });
const okAlone = (): MemberAnswer => ({ bytes: packet(1, ok(AUTOCOMMIT, 1, 0)), isPrepareFailed: false });
const error = (code: number): MemberAnswer => ({ bytes: packet(1, err(code, 'failed')), isPrepareFailed: false });
const lost = (): MemberAnswer => ({ bytes: null, isPrepareFailed: false });
const commitOk = packet(1, ok(AUTOCOMMIT));
const commitErr = packet(1, err(1180, 'Got error during COMMIT'));

describe('judgeTransaction', () => {
  it('gives every member its own answer when the COMMIT succeeds, errors included', () => {
    expect(judgeTransaction([okInTx(), error(1062), okInTx()], commitOk, false)).toEqual(['own', 'own', 'own']);
  });

  it('gives the COMMIT\'s error to every member that ran inside the transaction, and its own error to a failed one', () => {
    expect(judgeTransaction([okInTx(), error(1062), okInTx()], commitErr, false)).toEqual(['commit-error', 'own', 'commit-error']);
  });

  it('reports an unknown outcome when the COMMIT\'s answer was lost, and for answers never received', () => {
    expect(judgeTransaction([okInTx(), error(1062), lost()], null, false)).toEqual(['lost', 'own', 'lost']);
  });

  it('re-runs the members a deadlock rolled back, and keeps the results of those that ran in autocommit after it', () => {
    const verdicts = judgeTransaction([okInTx(), error(1062), okInTx(), error(1213), okAlone(), error(1146)], commitOk, false);
    expect(verdicts).toEqual(['redo', 'own', 'redo', 'redo', 'own', 'own']);
  });

  it('treats a lock wait timeout as a whole rollback only under innodb_rollback_on_timeout', () => {
    expect(judgeTransaction([okInTx(), error(1205), okInTx()], commitOk, false)).toEqual(['own', 'own', 'own']);
    expect(judgeTransaction([okInTx(), error(1205), okAlone()], commitOk, true)).toEqual(['redo', 'redo', 'own']);
  });

  it('counts only the first rollback: a later deadlock in autocommit is the member\'s own error', () => {
    expect(judgeTransaction([error(1213), okAlone(), error(1213)], commitOk, false)).toEqual(['redo', 'own', 'own']);
  });

  it('re-runs a member whose prepare failed, since its execute never ran', () => {
    expect(judgeTransaction([okInTx(), { bytes: packet(1, err(1243, 'Unknown prepared statement')), isPrepareFailed: true }], commitOk, false)).toEqual(['own', 'redo']);
  });

  it('lets every member stand on its own when BEGIN failed (no OK carries the in-transaction flag)', () => {
    expect(judgeTransaction([okAlone(), error(1062), okAlone()], commitErr, false)).toEqual(['own', 'own', 'own']);
    expect(judgeTransaction([okAlone(), okAlone()], null, false)).toEqual(['own', 'own']);
  });
});
