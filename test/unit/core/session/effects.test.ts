import { describe, expect, it } from 'bun:test';
import { applyEffects, SessionState } from '../../../../src/core/session/index.ts';
import { parseStatement, type SqlDialect } from '../../../../src/core/sql/index.ts';

function run(sql: string, dialect: SqlDialect = 'postgres', outcome = { isOk: true, statementsRun: 1 }): SessionState {
  const s = new SessionState(dialect === 'postgres' ? 'postgres' : 'mariadb', 'main');
  s.database = 'start';
  applyEffects(s, parseStatement(sql, dialect), outcome);
  return s;
}

describe('applyEffects', () => {
  it('marks the session untracked after SET, RESET, DISCARD, PREPARE and temporary tables on PostgreSQL', () => {
    for (const sql of ["SET search_path = 'x'", 'RESET ALL', 'DISCARD ALL', 'PREPARE p AS SELECT 1', 'CREATE TEMP TABLE t (a int)', 'CREATE TEMPORARY TABLE t (a int)', 'DECLARE c CURSOR WITH HOLD FOR SELECT 1']) {
      expect({ sql, untracked: run(sql).hasUntrackedState }).toEqual({ sql, untracked: true });
    }
  });

  it('follows a client_encoding change as the session charset instead of giving up on the session', () => {
    const s = run("SET client_encoding = 'LATIN1'");
    expect(s.hasUntrackedState).toBe(false);
    expect(s.charset).toContain('LATIN1');
  });

  it('leaves the session alone after plain reads and writes', () => {
    for (const sql of ['SELECT 1', 'INSERT INTO t VALUES (1)', 'UPDATE t SET a = 1', 'BEGIN', 'COMMIT', 'CREATE TABLE t (a int)']) {
      expect(run(sql).hasUntrackedState).toBe(false);
    }
  });

  it('applies nothing when the statement failed', () => {
    expect(run('RESET ALL', 'postgres', { isOk: false, statementsRun: 0 }).hasUntrackedState).toBe(false);
  });

  it('marks a multi-statement text that ran more than one statement untracked', () => {
    expect(run('SELECT 1; SELECT 2', 'postgres', { isOk: true, statementsRun: 2 }).hasUntrackedState).toBe(true);
  });

  it('follows USE and LOCK TABLES on MariaDB', () => {
    expect(run('USE other', 'mysql').database).toBe('other');
    const locked = run('LOCK TABLES t WRITE', 'mysql');
    expect(locked.hasTableLocks).toBe(true);
    expect(locked.isInTransaction).toBe(true);
  });

  it('follows SET NAMES as the MariaDB charset, ignores SET autocommit, and marks other SETs, CALL and temporary tables untracked', () => {
    const names = run('SET NAMES utf8mb4', 'mysql');
    expect(names.hasUntrackedState).toBe(false);
    expect(names.charset).toContain('utf8mb4');
    expect(run('SET autocommit = 0', 'mysql').hasUntrackedState).toBe(false);
    for (const sql of ["SET @@session.sql_mode = 'ANSI'", 'SET @x = 1', 'CALL p()', 'CREATE TEMPORARY TABLE t (a int)']) {
      expect({ sql, untracked: run(sql, 'mysql').hasUntrackedState }).toEqual({ sql, untracked: true });
    }
  });

  it('marks a session untracked after a prepared character-set SET, whose value it never sees', () => {
    const s = new SessionState('mariadb', 'main');
    s.charset = '45';
    applyEffects(s, parseStatement('SET character_set_client = ?', 'mysql'), { isOk: true, statementsRun: 1, hasBoundValues: true });
    expect(s.hasUntrackedState).toBe(true);
    expect(s.charset).toBe('45');
    const prepared = new SessionState('mariadb', 'main');
    applyEffects(prepared, parseStatement('SET SESSION sql_mode = ?', 'mysql'), { isOk: true, statementsRun: 1, hasBoundValues: true });
    expect(prepared.hasUntrackedState).toBe(true);
  });

  it('clears the MariaDB table locks on UNLOCK TABLES', () => {
    const s = new SessionState('mariadb', 'main');
    applyEffects(s, parseStatement('LOCK TABLES t WRITE', 'mysql'), { isOk: true, statementsRun: 1 });
    applyEffects(s, parseStatement('UNLOCK TABLES', 'mysql'), { isOk: true, statementsRun: 1 });
    expect(s.hasTableLocks).toBe(false);
    expect(s.isInTransaction).toBe(false);
  });
});
