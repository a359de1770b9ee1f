import { describe, expect, it } from 'bun:test';
import { parseStatement, type SqlDialect, type Statement, type StatementKind } from '../../../../src/core/sql/index.ts';

/** One row: the SQL, the dialect(s) it is read in, and what must hold. Omitted fields are not checked. */
interface Case {
  sql: string;
  in: SqlDialect | 'both';
  kind: StatementKind;
  multi?: boolean;
  lock?: boolean;
  into?: boolean;
  session?: boolean;
  returning?: boolean;
  writable?: boolean;
  batchable?: boolean;
  cacheable?: boolean;
  setTarget?: Statement['setTarget'];
  autocommit?: boolean | null;
  use?: string | null;
  savepoint?: string | null;
  access?: Statement['transactionAccess'];
  insertSelect?: boolean;
  ttl?: number | null;
  batch?: number | null;
  file?: string | null;
  line?: number | null;
}

const B = 'both' as const;
const M = 'mysql' as const;
const P = 'postgres' as const;

const CASES: Case[] = [
  // SELECT, however it is dressed.
  { in: B, sql: 'SELECT 1', kind: 'select', writable: false, batchable: false, cacheable: false, multi: false },
  { in: B, sql: '/* ttl:60 file:update.go */ SELECT * FROM users', kind: 'select', ttl: 60, file: 'update.go', cacheable: true },
  { in: B, sql: '/* file:update.go ttl:60 */ SELECT * FROM users', kind: 'select', ttl: 60, file: 'update.go', cacheable: true },
  { in: B, sql: '/* line:7 file:a.go batch:5 ttl:9 */ SELECT 1', kind: 'select', ttl: 9, batch: 5, file: 'a.go', line: 7 },
  { in: B, sql: '/* ttl:60 */ SELECT * FROM users;', kind: 'select', ttl: 60, cacheable: true, multi: false },
  { in: B, sql: '/* ttl:60 */ SELECT * FROM users ;  \n', kind: 'select', ttl: 60, cacheable: true, multi: false },
  { in: B, sql: 'SELECT * FROM users /* ttl:30 */', kind: 'select', ttl: 30, cacheable: true },
  { in: B, sql: 'SELECT /* ttl:30 line:3 */ * FROM users', kind: 'select', ttl: 30, line: 3 },
  { in: B, sql: '/* ttl:0 */ SELECT 1', kind: 'select', ttl: 0, cacheable: false },
  { in: B, sql: '(SELECT 1)', kind: 'select' },
  { in: B, sql: '((SELECT a FROM t) UNION (SELECT b FROM u))', kind: 'select' },
  { in: B, sql: 'WITH x AS (SELECT 1) SELECT * FROM x', kind: 'select', writable: false },
  { in: B, sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r', kind: 'select' },
  { in: B, sql: 'VALUES (1, 2), (3, 4)', kind: 'select' },
  { in: B, sql: 'TABLE users', kind: 'select' },
  { in: B, sql: "select * from t where a = 'update'", kind: 'select' },
  { in: B, sql: '-- update t\nSELECT 1', kind: 'select' },
  { in: B, sql: '/* UPDATE t SET a = 1 */ SELECT 1', kind: 'select' },
  { in: B, sql: '  \n\t SeLeCt 1', kind: 'select' },
  { in: M, sql: '# update t\nSELECT 1', kind: 'select' },
  { in: P, sql: '# update t\nSELECT 1', kind: 'other' },
  { in: M, sql: 'SELECT * FROM t WHERE id = ?', kind: 'select' },
  { in: P, sql: 'SELECT * FROM t WHERE id = $1', kind: 'select' },
  { in: B, sql: 'SELECT * FROM t WHERE id = :id', kind: 'select' },
  // Locking reads.
  { in: B, sql: 'SELECT * FROM t FOR UPDATE', kind: 'select', lock: true, writable: true },
  { in: P, sql: 'SELECT * FROM t FOR NO KEY UPDATE', kind: 'select', lock: true },
  { in: B, sql: 'SELECT * FROM t FOR SHARE', kind: 'select', lock: true },
  { in: P, sql: 'SELECT * FROM t FOR KEY SHARE', kind: 'select', lock: true },
  { in: M, sql: 'SELECT * FROM t LOCK IN SHARE MODE', kind: 'select', lock: true },
  { in: M, sql: '/* ttl:10 */ SELECT * FROM t FOR UPDATE SKIP LOCKED', kind: 'select', lock: true, cacheable: false },
  { in: B, sql: 'SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)', kind: 'select', lock: true },
  { in: B, sql: 'SELECT for_update, share FROM t', kind: 'select', lock: false },
  // SELECT ... INTO.
  { in: M, sql: 'SELECT a INTO @x FROM t', kind: 'select', into: true, session: true },
  { in: M, sql: "/* ttl:5 */ SELECT * FROM t INTO OUTFILE '/tmp/x'", kind: 'select', into: true, cacheable: false, writable: true },
  { in: M, sql: "SELECT * INTO DUMPFILE '/tmp/x' FROM t", kind: 'select', into: true },
  { in: P, sql: 'SELECT * INTO new_t FROM t', kind: 'select', into: true, writable: true },
  { in: B, sql: 'SELECT into_col FROM t', kind: 'select', into: false },
  // Session-dependent references.
  { in: M, sql: '/* ttl:5 */ SELECT LAST_INSERT_ID()', kind: 'select', session: true, cacheable: false },
  { in: M, sql: 'SELECT ROW_COUNT()', kind: 'select', session: true },
  { in: M, sql: 'SELECT FOUND_ROWS()', kind: 'select', session: true },
  { in: M, sql: 'SELECT connection_id ( )', kind: 'select', session: true },
  { in: M, sql: 'SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10', kind: 'select', session: true },
  { in: M, sql: 'SELECT @x', kind: 'select', session: true },
  { in: M, sql: 'SELECT @@session.sql_mode', kind: 'select', session: true },
  { in: M, sql: 'SELECT @@global.max_connections', kind: 'select', session: false },
  { in: M, sql: "SELECT GET_LOCK('x', 1)", kind: 'select', session: true },
  { in: M, sql: 'SELECT PREVIOUS VALUE FOR s', kind: 'select', session: true },
  { in: M, sql: 'SELECT NEXT VALUE FOR s', kind: 'select', writable: true },
  { in: P, sql: 'SELECT lastval()', kind: 'select', session: true },
  { in: P, sql: "SELECT currval('s')", kind: 'select', session: true },
  { in: P, sql: 'SELECT pg_backend_pid()', kind: 'select', session: true },
  { in: P, sql: 'SELECT pg_advisory_lock(1)', kind: 'select', session: true },
  { in: P, sql: "/* ttl:9 */ SELECT nextval('s')", kind: 'select', writable: true, cacheable: false },
  { in: P, sql: "SELECT pg_notify('c', 'x')", kind: 'select', writable: true },
  { in: B, sql: 'SELECT last_insert_id FROM t', kind: 'select', session: false },
  { in: P, sql: 'SELECT @x', kind: 'select', session: false },
  { in: P, sql: '/* ttl:5 */ WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', kind: 'select', writable: true, cacheable: false },
  { in: P, sql: 'WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u', kind: 'select', writable: true },
  { in: P, sql: 'WITH l AS (SELECT * FROM t FOR UPDATE) SELECT * FROM l', kind: 'select', writable: true, lock: true },
  // Quotes, comments and separators.
  { in: P, sql: "SELECT $$it's; not; a; separator$$", kind: 'select', multi: false },
  { in: P, sql: 'SELECT $tag$ a $$ b ; $tag$', kind: 'select', multi: false },
  { in: B, sql: "SELECT 'it''s; fine'", kind: 'select', multi: false },
  { in: M, sql: "SELECT 'a\\'; b'", kind: 'select', multi: false },
  { in: P, sql: "SELECT 'a\\'; SELECT 2", kind: 'select', multi: true },
  { in: P, sql: "SELECT E'a\\'; b'", kind: 'select', multi: false },
  { in: B, sql: 'SELECT "a;b"', kind: 'select', multi: false },
  { in: M, sql: 'SELECT `a;b` FROM t', kind: 'select', multi: false },
  { in: P, sql: '/* a /* nested ; */ still comment ; */ SELECT 1', kind: 'select', multi: false },
  { in: M, sql: '/* a /* nested ; */ still comment ; */ SELECT 1', kind: 'other', multi: true },
  { in: M, sql: '/*!40101 SET NAMES utf8 */', kind: 'set', setTarget: 'charset' },
  { in: M, sql: '/*!50000 SELECT */ 1', kind: 'select' },
  { in: M, sql: '/*M!100100 SELECT 1 */', kind: 'select' },
  { in: P, sql: '/*!40101 SET NAMES utf8 */', kind: 'empty' },
  { in: M, sql: '/*+ BKA(t) */ SELECT 1', kind: 'select' },
  { in: B, sql: 'SELECT 1; SELECT 2', kind: 'select', multi: true },
  { in: B, sql: 'SELECT 1;;', kind: 'select', multi: false },
  { in: B, sql: 'SELECT 1; -- done', kind: 'select', multi: false },
  { in: B, sql: 'SELECT 1; /* c */ ;', kind: 'select', multi: false },
  { in: B, sql: ';SELECT 1', kind: 'select', multi: false },
  { in: B, sql: 'SELECT 1 -- comment; SELECT 2', kind: 'select', multi: false },
  { in: M, sql: 'SELECT 1 #; SELECT 2', kind: 'select', multi: false },
  { in: M, sql: 'SELECT 1--1; SELECT 2', kind: 'select', multi: true },
  { in: P, sql: 'SELECT 1--1; SELECT 2', kind: 'select', multi: false },
  { in: B, sql: '', kind: 'empty', multi: false, writable: false },
  { in: B, sql: '   \n  ', kind: 'empty' },
  { in: B, sql: ';', kind: 'empty' },
  { in: B, sql: '/* only a comment */', kind: 'empty' },
  { in: B, sql: '/* ttl:5 */', kind: 'empty', ttl: 5, cacheable: false },
  { in: B, sql: '-- x', kind: 'empty' },
  { in: B, sql: "'just a string'", kind: 'other' },
  // INSERT and REPLACE.
  { in: B, sql: "INSERT INTO t (a, b) VALUES (1, 'x')", kind: 'insert', batchable: true, writable: true, insertSelect: false },
  { in: M, sql: 'INSERT IGNORE INTO t VALUES (1)', kind: 'insert', batchable: true },
  { in: M, sql: 'insert low_priority ignore into t values (1)', kind: 'insert' },
  { in: B, sql: 'INSERT INTO t (a) SELECT a FROM u', kind: 'insert', insertSelect: true, batchable: true },
  { in: M, sql: 'INSERT INTO t SELECT * FROM u', kind: 'insert', insertSelect: true },
  { in: M, sql: 'INSERT INTO t (SELECT * FROM u)', kind: 'insert', insertSelect: true },
  { in: M, sql: 'INSERT INTO t TABLE u', kind: 'insert', insertSelect: true },
  { in: B, sql: 'INSERT INTO t (a) VALUES ((SELECT max(a) FROM u))', kind: 'insert', insertSelect: false },
  { in: P, sql: 'INSERT INTO t (a) VALUES (1) RETURNING id', kind: 'insert', returning: true, batchable: true },
  { in: M, sql: 'INSERT INTO t (a) VALUES (1) RETURNING id', kind: 'insert', returning: true },
  { in: B, sql: 'INSERT INTO t (returning) VALUES (1)', kind: 'insert', returning: false },
  { in: M, sql: 'INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = a + 1', kind: 'insert', batchable: true },
  { in: P, sql: 'INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO NOTHING', kind: 'insert', batchable: true },
  { in: M, sql: 'INSERT INTO t SET a = 1', kind: 'insert', insertSelect: false },
  { in: M, sql: 'INSERT INTO t (a) VALUES (LAST_INSERT_ID())', kind: 'insert', session: true, batchable: false },
  { in: M, sql: 'INSERT INTO t (a) VALUES (@v)', kind: 'insert', session: true, batchable: false },
  { in: B, sql: '/* batch:0 */ INSERT INTO t (a) VALUES (1)', kind: 'insert', batch: 0, batchable: false },
  { in: B, sql: '/* batch:20 */ INSERT INTO t (a) VALUES (1)', kind: 'insert', batch: 20, batchable: true },
  { in: B, sql: '/* ttl:60 */ INSERT INTO t (a) VALUES (1)', kind: 'insert', ttl: 60, cacheable: false, batchable: true },
  { in: M, sql: 'REPLACE INTO t (a) VALUES (1)', kind: 'replace', batchable: true, writable: true },
  { in: M, sql: 'REPLACE t SELECT * FROM u', kind: 'replace', insertSelect: true },
  { in: P, sql: 'WITH s AS (SELECT 1 AS a) INSERT INTO t (a) SELECT a FROM s', kind: 'insert', insertSelect: true },
  { in: B, sql: 'INSERT INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (2)', kind: 'insert', multi: true, batchable: false },
  { in: M, sql: 'INSERT INTO t VALUES (1) /* ttl:5 */;', kind: 'insert', ttl: 5, multi: false },
  { in: P, sql: 'INSERT INTO t DEFAULT VALUES', kind: 'insert', insertSelect: false },
  { in: M, sql: 'SET STATEMENT max_statement_time=1 FOR INSERT INTO t VALUES (1)', kind: 'insert', setTarget: null },
  { in: M, sql: 'SET STATEMENT max_statement_time=60, sql_mode=\'\' FOR SELECT * FROM t', kind: 'select' },
  // UPDATE and DELETE.
  { in: B, sql: 'UPDATE t SET a = 1 WHERE id = 2', kind: 'update', batchable: true, writable: true },
  { in: M, sql: 'UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b', kind: 'update', batchable: true },
  { in: P, sql: 'UPDATE t SET a = u.b FROM u WHERE t.id = u.id RETURNING t.id', kind: 'update', returning: true },
  { in: M, sql: 'UPDATE t SET a = ROW_COUNT()', kind: 'update', session: true, batchable: false },
  { in: B, sql: 'DELETE FROM t WHERE id = 1', kind: 'delete', batchable: true },
  { in: M, sql: 'DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id', kind: 'delete' },
  { in: P, sql: 'DELETE FROM t USING u WHERE t.id = u.id', kind: 'delete' },
  { in: P, sql: 'WITH x AS (SELECT id FROM u) DELETE FROM t WHERE id IN (SELECT id FROM x)', kind: 'delete', batchable: true },
  { in: M, sql: 'WITH x AS (SELECT id FROM u) UPDATE t SET a = 1 WHERE id IN (SELECT id FROM x)', kind: 'update' },
  { in: M, sql: 'DELETE FROM t WHERE id = 1 RETURNING id', kind: 'delete', returning: true },
  { in: M, sql: "UPDATE t SET a = 1 WHERE b = 'x'; SELECT ROW_COUNT()", kind: 'update', multi: true, session: true, batchable: false },
  // LOAD DATA, CALL, DDL.
  { in: M, sql: "LOAD DATA INFILE '/tmp/x' INTO TABLE t", kind: 'load_data', writable: true, batchable: false },
  { in: M, sql: "LOAD DATA LOCAL INFILE 'x' REPLACE INTO TABLE t", kind: 'load_data' },
  { in: M, sql: "LOAD XML LOCAL INFILE 'x' INTO TABLE t", kind: 'load_data' },
  { in: M, sql: 'LOAD INDEX INTO CACHE t', kind: 'other' },
  { in: P, sql: "LOAD 'auto_explain'", kind: 'other' },
  { in: B, sql: 'CALL proc(1, 2)', kind: 'call', writable: true, batchable: false },
  { in: B, sql: 'CREATE TABLE t (id INT PRIMARY KEY)', kind: 'ddl', writable: true },
  { in: B, sql: 'ALTER TABLE t ADD COLUMN b INT', kind: 'ddl' },
  { in: B, sql: 'DROP TABLE IF EXISTS t', kind: 'ddl' },
  { in: B, sql: 'TRUNCATE TABLE t', kind: 'ddl' },
  { in: M, sql: 'RENAME TABLE a TO b', kind: 'ddl' },
  { in: B, sql: 'CREATE INDEX i ON t (a)', kind: 'ddl' },
  { in: B, sql: 'GRANT SELECT ON t TO someone', kind: 'ddl' },
  { in: B, sql: 'REVOKE SELECT ON t FROM someone', kind: 'ddl' },
  { in: P, sql: "COMMENT ON TABLE t IS 'x'", kind: 'ddl' },
  { in: M, sql: 'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END', kind: 'ddl', multi: false },
  { in: M, sql: 'CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END', kind: 'ddl', multi: false },
  { in: P, sql: 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END', kind: 'ddl', multi: false },
  { in: P, sql: 'CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql', kind: 'ddl', multi: false },
  { in: B, sql: 'CREATE TABLE t (a INT); INSERT INTO t VALUES (1)', kind: 'ddl', multi: true },
  { in: M, sql: 'CREATE TABLE event (a INT); SELECT 1', kind: 'ddl', multi: true },
  // SET.
  { in: M, sql: 'SET autocommit = 0', kind: 'set', setTarget: 'autocommit', autocommit: false, writable: false },
  { in: M, sql: 'SET autocommit=1', kind: 'set', setTarget: 'autocommit', autocommit: true },
  { in: M, sql: 'SET AUTOCOMMIT = ON', kind: 'set', setTarget: 'autocommit', autocommit: true },
  { in: M, sql: 'set autocommit = off', kind: 'set', setTarget: 'autocommit', autocommit: false },
  { in: M, sql: 'SET autocommit = TRUE', kind: 'set', setTarget: 'autocommit', autocommit: true },
  { in: M, sql: 'SET autocommit := 0', kind: 'set', setTarget: 'autocommit', autocommit: false },
  { in: M, sql: "SET autocommit = 'OFF'", kind: 'set', setTarget: 'autocommit', autocommit: false },
  { in: M, sql: 'SET @@autocommit = 0', kind: 'set', setTarget: 'autocommit', autocommit: false },
  { in: M, sql: 'SET @@session.autocommit = 1', kind: 'set', setTarget: 'autocommit', autocommit: true },
  { in: M, sql: 'SET SESSION autocommit = 0', kind: 'set', setTarget: 'autocommit', autocommit: false },
  { in: M, sql: 'SET LOCAL autocommit = 1', kind: 'set', setTarget: 'autocommit', autocommit: true },
  { in: M, sql: '/* file:db.go */ SET autocommit = 0;', kind: 'set', setTarget: 'autocommit', autocommit: false, file: 'db.go' },
  { in: M, sql: 'SET GLOBAL autocommit = 0', kind: 'set', setTarget: 'other', autocommit: null },
  { in: M, sql: 'SET @@global.autocommit = 0', kind: 'set', setTarget: 'other', autocommit: null },
  { in: M, sql: 'SET autocommit = @x', kind: 'set', setTarget: 'autocommit', autocommit: null, session: true },
  { in: M, sql: 'SET autocommit = 2', kind: 'set', setTarget: 'autocommit', autocommit: null },
  { in: M, sql: 'SET NAMES utf8mb4', kind: 'set', setTarget: 'charset', autocommit: null },
  { in: M, sql: "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET CHARACTER SET utf8', kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET CHARSET utf8', kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET character_set_client = utf8mb4', kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET collation_connection = utf8mb4_bin', kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET @@character_set_results = NULL', kind: 'set', setTarget: 'charset', session: true },
  { in: M, sql: 'SET character_set_client = utf8, character_set_results = utf8', kind: 'set', setTarget: 'charset' },
  { in: M, sql: 'SET NAMES utf8mb4, autocommit = 0', kind: 'set', setTarget: 'other', autocommit: false },
  { in: M, sql: 'SET autocommit = 0, sql_mode = CONCAT(@@sql_mode, \',X\')', kind: 'set', setTarget: 'other', autocommit: false },
  { in: M, sql: 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED', kind: 'set', setTarget: 'transaction' },
  { in: M, sql: 'SET SESSION TRANSACTION READ ONLY', kind: 'set', setTarget: 'transaction' },
  { in: P, sql: 'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE', kind: 'set', setTarget: 'transaction' },
  { in: P, sql: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ', kind: 'set', setTarget: 'transaction' },
  { in: M, sql: "SET sql_mode = 'STRICT_ALL_TABLES'", kind: 'set', setTarget: 'other' },
  { in: M, sql: 'SET @a = 1', kind: 'set', setTarget: 'other', session: true },
  { in: P, sql: 'SET search_path TO a, b', kind: 'set', setTarget: 'other' },
  { in: P, sql: "SET client_encoding TO 'UTF8'", kind: 'set', setTarget: 'charset' },
  { in: P, sql: "SET NAMES 'UTF8'", kind: 'set', setTarget: 'charset' },
  { in: P, sql: "SET TIME ZONE 'UTC'", kind: 'set', setTarget: 'other' },
  { in: P, sql: 'SET LOCAL statement_timeout = 0', kind: 'set', setTarget: 'other' },
  { in: P, sql: 'SET my.setting = 1', kind: 'set', setTarget: 'other' },
  { in: P, sql: 'SET ROLE admin', kind: 'set', setTarget: 'other' },
  { in: M, sql: "SET PASSWORD = 'x'", kind: 'set', setTarget: 'other' },
  { in: M, sql: '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */', kind: 'set', setTarget: 'other' },
  { in: M, sql: 'SET autocommit = 0; INSERT INTO t VALUES (1)', kind: 'set', multi: true, autocommit: false },
  { in: B, sql: 'SET', kind: 'set', setTarget: 'other' },
  // USE, SHOW, DESCRIBE, EXPLAIN, DO.
  { in: M, sql: 'USE mydb', kind: 'use', use: 'mydb', writable: false },
  { in: M, sql: 'USE `my db`', kind: 'use', use: 'my db' },
  { in: M, sql: 'use `we``ird`;', kind: 'use', use: 'we`ird' },
  { in: P, sql: 'USE mydb', kind: 'other', use: null },
  { in: B, sql: 'SHOW TABLES', kind: 'show', writable: false },
  { in: M, sql: 'SHOW TQDB STATUS', kind: 'show' },
  { in: P, sql: 'SHOW search_path', kind: 'show' },
  { in: M, sql: 'DESCRIBE t', kind: 'describe' },
  { in: M, sql: 'DESC t', kind: 'describe' },
  { in: B, sql: 'EXPLAIN SELECT * FROM t', kind: 'explain', writable: false },
  { in: P, sql: 'EXPLAIN ANALYZE DELETE FROM t', kind: 'explain', writable: true },
  { in: P, sql: 'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1', kind: 'explain', writable: true },
  { in: P, sql: 'EXPLAIN UPDATE t SET a = 1', kind: 'explain', writable: false },
  { in: M, sql: 'EXPLAIN FORMAT=JSON SELECT 1', kind: 'explain', writable: false },
  { in: M, sql: 'ANALYZE TABLE t', kind: 'other' },
  { in: M, sql: 'ANALYZE UPDATE t SET a = 1', kind: 'explain', writable: true },
  { in: M, sql: 'ANALYZE SELECT 1', kind: 'explain', writable: false },
  { in: M, sql: 'DO SLEEP(1)', kind: 'do', writable: true },
  { in: P, sql: 'DO $$ BEGIN PERFORM 1; END $$', kind: 'do', multi: false },
  // Transaction control.
  { in: B, sql: 'BEGIN', kind: 'begin', writable: false, access: null },
  { in: M, sql: 'BEGIN WORK', kind: 'begin' },
  { in: P, sql: 'BEGIN TRANSACTION', kind: 'begin' },
  { in: P, sql: 'BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY', kind: 'begin', access: 'read_only' },
  { in: P, sql: 'BEGIN NOT DEFERRABLE', kind: 'begin' },
  { in: M, sql: 'BEGIN NOT ATOMIC SELECT 1; SELECT 2; END', kind: 'other', multi: false },
  { in: B, sql: 'START TRANSACTION', kind: 'begin' },
  { in: M, sql: 'START TRANSACTION READ ONLY', kind: 'begin', access: 'read_only' },
  { in: M, sql: 'START TRANSACTION WITH CONSISTENT SNAPSHOT', kind: 'begin', access: null },
  { in: M, sql: 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE', kind: 'begin', access: 'read_write' },
  { in: P, sql: 'START TRANSACTION ISOLATION LEVEL READ COMMITTED', kind: 'begin', access: null },
  { in: M, sql: 'START SLAVE', kind: 'other' },
  { in: B, sql: 'COMMIT', kind: 'commit', writable: false },
  { in: M, sql: 'COMMIT WORK', kind: 'commit' },
  { in: M, sql: 'COMMIT AND NO CHAIN', kind: 'commit' },
  { in: P, sql: 'END', kind: 'commit' },
  { in: P, sql: 'END TRANSACTION', kind: 'commit' },
  { in: M, sql: 'END', kind: 'other' },
  { in: P, sql: "COMMIT PREPARED 'x'", kind: 'xa' },
  { in: B, sql: 'ROLLBACK', kind: 'rollback', savepoint: null },
  { in: M, sql: 'ROLLBACK WORK', kind: 'rollback', savepoint: null },
  { in: B, sql: 'ROLLBACK TO SAVEPOINT sp1', kind: 'rollback', savepoint: 'sp1' },
  { in: P, sql: 'ROLLBACK TO sp1', kind: 'rollback', savepoint: 'sp1' },
  { in: M, sql: 'ROLLBACK WORK TO SAVEPOINT `a b`', kind: 'rollback', savepoint: 'a b' },
  { in: P, sql: 'ABORT', kind: 'rollback' },
  { in: P, sql: "ROLLBACK PREPARED 'x'", kind: 'xa' },
  { in: B, sql: 'SAVEPOINT sp1', kind: 'savepoint', savepoint: 'sp1' },
  { in: B, sql: 'RELEASE SAVEPOINT sp1', kind: 'release_savepoint', savepoint: 'sp1' },
  { in: P, sql: 'RELEASE "Sp 1"', kind: 'release_savepoint', savepoint: 'Sp 1' },
  { in: M, sql: 'LOCK TABLES t READ, u WRITE', kind: 'lock_tables', writable: true },
  { in: M, sql: 'LOCK TABLE t WRITE', kind: 'lock_tables' },
  { in: M, sql: 'UNLOCK TABLES', kind: 'unlock_tables', writable: false },
  { in: M, sql: 'LOCK INSTANCE FOR BACKUP', kind: 'other' },
  { in: P, sql: 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE', kind: 'lock_tables' },
  { in: P, sql: 'LOCK t', kind: 'lock_tables' },
  { in: M, sql: "XA START 'x'", kind: 'xa' },
  { in: M, sql: "XA COMMIT 'x'", kind: 'xa' },
  { in: M, sql: 'XA RECOVER', kind: 'xa' },
  { in: P, sql: "PREPARE TRANSACTION 'x'", kind: 'xa' },
  { in: P, sql: 'PREPARE q AS SELECT 1', kind: 'other' },
  // PostgreSQL COPY, LISTEN, NOTIFY; everything else.
  { in: P, sql: 'COPY t FROM STDIN', kind: 'copy', writable: true },
  { in: P, sql: 'COPY t TO STDOUT', kind: 'copy', writable: false },
  { in: P, sql: 'COPY (SELECT * FROM t) TO STDOUT', kind: 'copy', writable: false },
  { in: P, sql: 'COPY t (a, b) FROM STDIN WITH (FORMAT csv)', kind: 'copy', writable: true },
  { in: P, sql: 'LISTEN chan', kind: 'listen' },
  { in: P, sql: 'UNLISTEN *', kind: 'listen' },
  { in: P, sql: "NOTIFY chan, 'x'", kind: 'notify' },
  { in: M, sql: 'LISTEN x', kind: 'other' },
  { in: M, sql: 'FLUSH TABLES', kind: 'other', writable: true },
  { in: P, sql: 'VACUUM t', kind: 'other' },
  { in: P, sql: 'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = 1', kind: 'other', writable: true },
  { in: M, sql: 'EXECUTE stmt USING @a', kind: 'other', session: true },
  { in: M, sql: 'HANDLER t OPEN', kind: 'other' },
];

function dialectsOf(c: Case): SqlDialect[] {
  return c.in === 'both' ? ['mysql', 'postgres'] : [c.in];
}

function check(c: Case, st: Statement): void {
  expect(st.kind).toBe(c.kind);
  if (c.multi !== undefined) expect(st.isMultiStatement).toBe(c.multi);
  if (c.lock !== undefined) expect(st.hasLockingRead).toBe(c.lock);
  if (c.into !== undefined) expect(st.hasInto).toBe(c.into);
  if (c.session !== undefined) expect(st.hasSessionDependentRef).toBe(c.session);
  if (c.returning !== undefined) expect(st.hasReturning).toBe(c.returning);
  if (c.writable !== undefined) expect(st.isWritable()).toBe(c.writable);
  if (c.batchable !== undefined) expect(st.isBatchable()).toBe(c.batchable);
  if (c.cacheable !== undefined) expect(st.isCacheable()).toBe(c.cacheable);
  if (c.setTarget !== undefined) expect(st.setTarget).toBe(c.setTarget);
  if (c.autocommit !== undefined) expect(st.autocommitValue).toBe(c.autocommit);
  if (c.use !== undefined) expect(st.useDatabase).toBe(c.use);
  if (c.savepoint !== undefined) expect(st.savepointName).toBe(c.savepoint);
  if (c.access !== undefined) expect(st.transactionAccess).toBe(c.access);
  if (c.insertSelect !== undefined) expect(st.isInsertSelect).toBe(c.insertSelect);
  if (c.ttl !== undefined) expect(st.hints.ttlSeconds).toBe(c.ttl);
  if (c.batch !== undefined) expect(st.hints.batchMs).toBe(c.batch);
  if (c.file !== undefined) expect(st.hints.file).toBe(c.file);
  if (c.line !== undefined) expect(st.hints.line).toBe(c.line);
}

describe('core/sql classification', () => {
  it('has at least 150 table cases across both dialects', () => {
    const rows = CASES.reduce((n, c) => n + dialectsOf(c).length, 0);
    expect(rows).toBeGreaterThanOrEqual(150);
    expect(CASES.some((c) => c.in !== 'postgres')).toBe(true);
    expect(CASES.some((c) => c.in !== 'mysql')).toBe(true);
  });

  for (const c of CASES) {
    for (const dialect of dialectsOf(c)) {
      it(`${dialect}: ${JSON.stringify(c.sql)} is ${c.kind}`, () => {
        check(c, parseStatement(c.sql, dialect));
      });
    }
  }

  it('sets setTarget only for SET statements', () => {
    expect(parseStatement('SELECT 1', 'mysql').setTarget).toBeNull();
    expect(parseStatement('SET x = 1', 'mysql').setTarget).toBe('other');
  });

  it('keeps the original text, comments and all', () => {
    const sql = '/* ttl:60 file:a.go */ SELECT 1;';
    expect(parseStatement(sql, 'mysql').sql).toBe(sql);
  });

  it('flags a ttl hint on a write, and not on a read', () => {
    expect(parseStatement('/* ttl:60 */ UPDATE t SET a = 1', 'mysql').hasTtlOnWrite).toBe(true);
    expect(parseStatement('/* ttl:60 */ SELECT 1', 'mysql').hasTtlOnWrite).toBe(false);
    expect(parseStatement('/* ttl:0 */ UPDATE t SET a = 1', 'mysql').hasTtlOnWrite).toBe(false);
  });

  it('reads MySQL "x" as an identifier under ANSI_QUOTES', () => {
    expect(parseStatement('SELECT "a\\"; SELECT 2', 'mysql').isMultiStatement).toBe(false);
    expect(parseStatement('SELECT "a\\"; SELECT 2', 'mysql', { ansiQuotes: true }).isMultiStatement).toBe(true);
  });

  it('reads backslashes literally under NO_BACKSLASH_ESCAPES', () => {
    expect(parseStatement("SELECT 'a\\'; SELECT 2", 'mysql', { noBackslashEscapes: true }).isMultiStatement).toBe(true);
  });

  it('reads backslash escapes in PostgreSQL strings when standard_conforming_strings is off', () => {
    expect(parseStatement("SELECT 'a\\'; b'", 'postgres', { standardConformingStrings: false }).isMultiStatement).toBe(false);
  });
});
