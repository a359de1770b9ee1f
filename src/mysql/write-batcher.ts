// Runs batches of MariaDB writes on the backend connection of one of their
// own members, and gives every member exactly its own result.
import type { BatchMember, BatchRunner } from '../core/batch/batch-manager.ts';
import { ProxyError } from '../core/errors.ts';
import type { RowValue, Statement } from '../core/sql/index.ts';
import type { BackendConnection } from './backend.ts';
import {
  byteOffsetOf,
  closeStatementPacket,
  firstPayload,
  errCodeOf,
  isErrResponse,
  memberOk,
  preparePacket,
  queryPacket,
  readOkHeader,
  readTextRows,
  rewriteExecute,
  rewriteForMember,
  sqlString,
} from './batch-sql.ts';
import { CaptureSink, type Captured } from './capture-sink.ts';
import { errPacketFor } from './errors.ts';
import { ResponseTracker } from './response-tracker.ts';
import { placeholderOffsets, renderParameters } from './param-literals.ts';
import { judgeTransaction } from './batch-outcome.ts';

/**
 * What a batched write needs from the client connection that issued it: its
 * backend to lend, and a way to answer. The session facts the write was
 * issued with travel in the write itself.
 */
export interface BatchClient {
  readonly id: number;
  readonly isOpen: boolean;
  /** The LAST_INSERT_ID() the client's session has and its backend session does not have yet, if any. */
  readonly pendingInsertId: number | null;
  /** Takes the client's backend for a batch if it is open and idle; null otherwise. */
  lendBackend(): BackendConnection | null;
  returnBackend(): void;
  /** One of this client's COM_STMT_EXECUTE packets as it must reach its own backend (parameter types restored). */
  ownExecutePacket(packet: Uint8Array): Uint8Array;
  /**
   * Delivers the member's answer (a complete packet, sequence id 1).
   * `insertId`, when the batch changed it, is the session's LAST_INSERT_ID()
   * from now on: the client owes it to its backend session.
   */
  deliverBatched(write: MysqlWrite, packet: Uint8Array, batchSize: number, insertId?: number | null): void;
  /**
   * Sends the write through the client's own connection, as if it had never
   * been batched, after giving that session `insertId` as its LAST_INSERT_ID()
   * when not null. Resolves when its response has been relayed (or lost).
   */
  runDirect(write: MysqlWrite, isBatchOfOne?: boolean, insertId?: number | null): Promise<void>;
}

export interface MysqlWrite extends BatchMember {
  readonly client: BatchClient;
  readonly statement: Statement;
  /** The client's command packet exactly as received (owned copy, header included). */
  readonly packet: Uint8Array;
  /** The decoded text the statement was parsed from (for prepared statements, the prepared text). */
  readonly sqlText: string;
  /** Prepared parameters may be rendered as literals: the session's character set keeps quoting safe. */
  readonly isLiteralSafe: boolean;
  /** The session reads backslashes in string literals as escapes (no NO_BACKSLASH_ESCAPES). */
  readonly hasBackslashEscapes: boolean;
  /**
   * The session's server status flags when the write was issued: the member's
   * answer carries them. They cannot change while it waits, since its client
   * sends nothing else until it is answered.
   */
  readonly statusFlags: number;
  /** The client negotiated CLIENT_DEPRECATE_EOF, as did its backend connection (how that connection's results end). */
  readonly isDeprecateEof: boolean;
  /** COM_STMT_EXECUTE: the prepared statement's id on the client's connection and its parameters. */
  readonly prepared: { statementId: number; paramCount: number; boundTypes: Uint8Array | null; sqlBytes: Uint8Array } | null;
  readonly isInsert: boolean;
  /** The session's database when the write was issued: resolves unqualified table names. */
  readonly database: string | null;
}

/** Server settings that decide whether the multi-row INSERT arithmetic holds; learned once per group. */
interface ServerFacts {
  autoincLockMode: number;
  autoIncrementIncrement: number;
  maxAllowedPacket: number;
  isRollbackOnTimeout: boolean;
  /** sql_mode has NO_AUTO_VALUE_ON_ZERO: a 0 stored in an AUTO_INCREMENT column is a 0, not a new id. */
  isNoAutoValueOnZero: boolean;
  learnedAtMs: number;
}

/**
 * How long learned server and table facts are trusted. A migration that adds
 * or drops an AUTO_INCREMENT column or a primary key is seen within this
 * long; the batch that reads them again runs as a transaction, never merged.
 */
const FACTS_TTL_MS = 5000;

/** Per table: whether information_schema found it, and its AUTO_INCREMENT column, if any. */
interface TableFacts {
  /** When they were read: facts older than FACTS_TTL_MS are read again (a table may be altered). */
  learnedAtMs: number;
  isKnown: boolean;
  autoIncrementColumn: string | null;
  /** The column of a one-column PRIMARY KEY of an integer type, if the table has one. */
  integerPrimaryKey: string | null;
}

export interface WriteBatcherObserver {
  method(method: 'multi_row_insert' | 'multi_row_delete' | 'transaction'): void;
}

const MAX_PROXY_STATEMENTS_PER_CONNECTION = 32;
/** COM_STMT_EXECUTE's statement id for "the statement prepared last on this connection" (MariaDB). */
const LAST_PREPARED = 0xffffffff;

/** Whether an execute packet names a real statement id rather than LAST_PREPARED. */
function isKnownId(packet: Uint8Array): boolean {
  return !(packet[5] === 0xff && packet[6] === 0xff && packet[7] === 0xff && packet[8] === 0xff);
}

/** A response the batch waits for. */
function awaitResponse(backend: BackendConnection, isDeprecateEof: boolean, shape: 'result' | 'prepare' = 'result', isExecute = false): Promise<Captured> {
  return new Promise((resolve) => backend.expect(new ResponseTracker(shape, isDeprecateEof, isExecute), new CaptureSink(resolve)));
}

export class MysqlWriteBatcher implements BatchRunner<MysqlWrite> {
  private readonly serverFacts = new Map<string, ServerFacts>();
  private readonly tableFacts = new Map<string, TableFacts>();
  /** Statements the proxy prepared on a backend connection, by SQL text. */
  private readonly proxyStatements = new WeakMap<BackendConnection, { epoch: number; byText: Map<string, { id: number; paramCount: number }> }>();
  private readonly observer: WriteBatcherObserver;
  private readonly group: string;
  /** The server rejected DELETE ... RETURNING (MySQL has none): deletes run as transactions. */
  private isDeleteReturningUnsupported = false;
  /** Batch keys whose merged INSERT raised warnings: merging cannot tell each member its own count. */
  private readonly warningKeys = new Set<string>();

  constructor(group: string, observer: WriteBatcherObserver) {
    this.group = group;
    this.observer = observer;
  }

  /** Bytes a batch may hold: below max_allowed_packet once it is known. */
  get maxBatchBytes(): number {
    const facts = this.serverFacts.get(this.group);
    return facts ? Math.max(1024, facts.maxAllowedPacket - 1024) : 4 * 1024 * 1024;
  }

  abandon(write: MysqlWrite, reason: 'timeout' | 'shutdown'): void {
    if (!write.client.isOpen) return;
    const err =
      reason === 'timeout'
        ? errPacketFor('BATCH_TIMEOUT', 'write waited longer than writebatch_timeout_ms in the batch queue; it was not executed')
        : errPacketFor('SHUTTING_DOWN', 'proxy is shutting down; the write was not executed');
    write.client.deliverBatched(write, errorPacket(err.code, err.sqlState, err.message), 0);
  }

  async run(members: MysqlWrite[]): Promise<void> {
    const live = members.filter((m) => m.client.isOpen);
    if (live.length === 0) return;
    // A batch of one is just the write: run it on its own connection, with no BEGIN/COMMIT around it.
    if (live.length === 1) {
      live[0]!.state = 'done';
      return live[0]!.client.runDirect(live[0]!, true);
    }
    let runner: BatchClient | null = null;
    let backend: BackendConnection | null = null;
    let isDeprecateEof = false;
    for (const m of live) {
      backend = m.client.lendBackend();
      if (backend !== null) {
        runner = m.client;
        isDeprecateEof = m.isDeprecateEof;
        break;
      }
    }
    if (runner === null || backend === null) {
      await Promise.all(live.map((m) => m.client.runDirect(m)));
      return;
    }
    try {
      await this.runOn(backend, runner, isDeprecateEof, live);
    } catch (error) {
      // Anything unexpected: members not yet answered learn that their write's outcome is unknown.
      const message = error instanceof ProxyError ? error.message : `batch failed: ${String(error)}`;
      const err = errPacketFor('BATCH_ABORTED', message);
      for (const m of live) if (m.state !== 'done') m.client.deliverBatched(m, errorPacket(err.code, err.sqlState, err.message), live.length);
    } finally {
      runner.returnBackend();
    }
  }

  /** `isDeprecateEof`: how results end on the runner's backend connection. */
  private async runOn(backend: BackendConnection, runner: BatchClient, isDeprecateEof: boolean, members: MysqlWrite[]): Promise<void> {
    const pipeline: Uint8Array[] = [];
    const send = (packet: Uint8Array, shape: 'result' | 'prepare' = 'result', isExecute = false): Promise<Captured> => {
      pipeline.push(packet);
      return awaitResponse(backend, isDeprecateEof, shape, isExecute);
    };

    // Learn what the multi-row INSERT arithmetic depends on, in the same round trip.
    const first = members[0]!;
    const table = tableOf(first);
    const tableKey = table !== null ? `${this.group}\u0000${table.includes('.') ? table : `${first.database ?? ''}.${table}`}` : '';
    const factsQuery = this.factsQueryFor(first, tableKey);
    const factsResponse = factsQuery === null ? null : send(queryPacket(factsQuery));
    const merged = factsQuery === null ? (this.mergedInsert(members, tableKey) ?? this.mergedDelete(members, tableKey)) : null;
    if (merged !== null) {
      const result = send(queryPacket(merged.sql));
      if (!this.write(backend, pipeline)) return this.fallBack(members, runner);
      const captured = await result;
      if (!captured.ok) return this.lostBeforeAnswer(members, runner, captured.error);
      if (isErrResponse(captured.bytes)) {
        // A server without DELETE ... RETURNING never merges deletes again.
        if (merged.kind === 'delete' && errCodeOf(captured.bytes) === ER_PARSE_ERROR) this.isDeleteReturningUnsupported = true;
        // The merged statement failed as a whole, so nothing was written: each member runs on its own.
        return this.runTransaction(backend, runner, members, isDeprecateEof, tableKey, null);
      }
      this.observer.method(merged.kind === 'insert' ? 'multi_row_insert' : 'multi_row_delete');
      if (merged.kind === 'insert') await this.answerMergedInsert(backend, members, merged.explicitIds, captured.bytes, isDeprecateEof);
      else answerMergedDelete(members, merged.keys, captured.bytes, isDeprecateEof);
      return;
    }
    // The runner's own LAST_INSERT_ID() is overwritten by the batch: read it first to restore it.
    const previousIdResponse = members.some((m) => m.isInsert) && runner.pendingInsertId === null ? send(queryPacket('SELECT LAST_INSERT_ID()')) : null;
    return this.runTransaction(backend, runner, members, isDeprecateEof, tableKey, { pipeline, factsResponse, previousIdResponse });
  }

  /** The pipelined transaction: BEGIN, every member, COMMIT in one write; answers read in order. */
  private async runTransaction(
    backend: BackendConnection,
    runner: BatchClient,
    members: MysqlWrite[],
    isDeprecateEof: boolean,
    tableKey: string,
    prefix: { pipeline: Uint8Array[]; factsResponse: Promise<Captured> | null; previousIdResponse: Promise<Captured> | null } | null,
  ): Promise<void> {
    // Same-text prepared members side by side, so each text is prepared once per pipeline.
    // Members are independent autocommit writes of different clients: their order is free.
    members = [...members].sort((a, b) => (a.sqlText < b.sqlText ? -1 : a.sqlText > b.sqlText ? 1 : 0));
    const pipeline = prefix?.pipeline ?? [];
    const send = (packet: Uint8Array, shape: 'result' | 'prepare' = 'result', isExecute = false): Promise<Captured> => {
      pipeline.push(packet);
      return awaitResponse(backend, isDeprecateEof, shape, isExecute);
    };
    const previousIdResponse =
      prefix === null && members.some((m) => m.isInsert) && runner.pendingInsertId === null ? send(queryPacket('SELECT LAST_INSERT_ID()')) : (prefix?.previousIdResponse ?? null);
    const begin = send(queryPacket('BEGIN'));
    // Members whose statement the proxy prepares here run right after its prepare as
    // statement id -1 ("the one just prepared"); `preparedBy[i]` is that prepare's index.
    const prepares: (Promise<Captured> | null)[] = [];
    const preparedBy: number[] = [];
    const answers: Promise<Captured>[] = [];
    let lastPrepared: { text: string; index: number } | null = null;
    for (const m of members) {
      const { packet, prepare } = this.commandFor(m, backend, runner, lastPrepared?.text ?? null);
      if (prepare !== null) {
        prepares.push(send(prepare, 'prepare'));
        lastPrepared = { text: m.sqlText, index: prepares.length - 1 };
        preparedBy.push(lastPrepared.index);
      } else {
        prepares.push(null);
        preparedBy.push(packet === m.packet || lastPrepared === null || m.sqlText !== lastPrepared.text || isKnownId(packet) ? -1 : lastPrepared.index);
      }
      answers.push(send(packet, 'result', m.prepared !== null));
    }
    const commit = send(queryPacket('COMMIT'));
    if (!this.write(backend, pipeline)) return this.fallBack(members, runner);
    this.observer.method('transaction');

    if (prefix !== null) await this.learn(prefix.factsResponse, tableKey, isDeprecateEof);
    const previousId = await this.previousId(previousIdResponse, runner, isDeprecateEof);
    const began = await begin;
    if (!began.ok) return this.lostBeforeAnswer(members, runner, began.error);
    // If BEGIN itself failed, the members already ran, each in autocommit: their OKs carry no
    // in-transaction flag and are delivered as their own results below. They are never re-run.
    const results: Captured[] = [];
    const prepareFailed: boolean[] = [];
    const prepareResults: (Captured | null)[] = [];
    for (let i = 0; i < members.length; i++) {
      const prepared = prepares[i];
      const p = prepared ? await prepared : null;
      prepareResults.push(p);
      if (p !== null && p.ok && !isErrResponse(p.bytes)) this.rememberProxyStatement(backend, members[i]!, p);
      const by = preparedBy[i]!;
      const dependency = by >= 0 ? prepareResults[by] : null;
      prepareFailed.push(dependency !== null && dependency !== undefined && dependency.ok && isErrResponse(dependency.bytes));
      results.push(await answers[i]!);
    }
    const committed = await commit;

    const isRollbackOnTimeout = this.serverFacts.get(this.group)?.isRollbackOnTimeout ?? false;
    const verdicts = judgeTransaction(
      results.map((r, i) => ({ bytes: r.ok ? r.bytes : null, isPrepareFailed: prepareFailed[i]! })),
      committed.ok ? committed.bytes : null,
      isRollbackOnTimeout,
    );
    const redo: MysqlWrite[] = [];
    const replies: { m: MysqlWrite; packet: Uint8Array; insertId: number | null }[] = [];
    const generated = new Set<BatchClient>();
    members.forEach((m, i) => {
      const verdict = verdicts[i]!;
      if (verdict === 'redo') {
        redo.push(m);
        return;
      }
      let packet: Uint8Array;
      let insertId: number | null = null;
      if (verdict === 'lost') {
        const lost = errPacketFor('BACKEND_LOST', "Lost connection to backend during a write batch; the write's outcome is unknown");
        packet = errorPacket(lost.code, lost.sqlState, lost.message);
      } else if (verdict === 'commit-error') {
        packet = rewriteForMember((committed as { bytes: Uint8Array }).bytes, m.statusFlags);
      } else {
        const bytes = (results[i] as { bytes: Uint8Array }).bytes;
        // A generated id becomes the session's LAST_INSERT_ID(); an explicit id only reports
        // itself. (Statements that call LAST_INSERT_ID() are never batched.)
        if (m.isInsert && !isErrResponse(bytes)) {
          const id = readOkHeader(bytes).lastInsertId;
          if (id !== 0 && !this.hasExplicitId(m, tableKey)) {
            insertId = id;
            generated.add(m.client);
          }
        }
        packet = rewriteForMember(bytes, m.statusFlags);
      }
      replies.push({ m, packet, insertId });
    });
    // The runner's session saw other members' generated ids. Unless its own write
    // generated one, its LAST_INSERT_ID() must go back to what it was before.
    const runnerId = generated.size > 0 && !generated.has(runner) ? (previousId ?? 0) : null;
    for (const { m, packet, insertId } of replies) {
      m.client.deliverBatched(m, packet, members.length, m.client === runner && runnerId !== null ? runnerId : insertId);
      m.state = 'done';
    }
    await Promise.all(redo.map((m) => m.client.runDirect(m, false, m.client === runner ? runnerId : null)));
  }

  /**
   * The command to pipeline for a member on the runner's connection, and a
   * prepare it needs first. `lastPreparedText` is the statement this pipeline
   * prepared last: a member with the same text reuses it without preparing again.
   */
  private commandFor(m: MysqlWrite, backend: BackendConnection, runner: BatchClient, lastPreparedText: string | null): { packet: Uint8Array; prepare: Uint8Array | null } {
    if (m.prepared === null) return { packet: m.packet, prepare: null };
    if (m.client === runner) return { packet: runner.ownExecutePacket(m.packet), prepare: null };
    const cached = this.proxyStatements.get(backend);
    const known = cached !== undefined && cached.epoch === backend.sessionEpoch ? cached.byText.get(m.sqlText) : undefined;
    const payload = m.packet.subarray(4);
    if (known !== undefined) {
      const packet = rewriteExecute(payload, known.id, m.prepared.paramCount, m.prepared.boundTypes);
      if (packet !== null) return { packet, prepare: null };
    }
    // MariaDB runs statement id 0xFFFFFFFF as "the statement just prepared": no extra round trip.
    const packet = rewriteExecute(payload, LAST_PREPARED, m.prepared.paramCount, m.prepared.boundTypes);
    if (packet === null) throw new ProxyError('INTERNAL', 'cannot rewrite COM_STMT_EXECUTE for the batch connection');
    if (m.sqlText === lastPreparedText) return { packet, prepare: null };
    return { packet, prepare: preparePacket(m.prepared.sqlBytes) };
  }

  private rememberProxyStatement(backend: BackendConnection, m: MysqlWrite, captured: Captured): void {
    if (!captured.ok) return;
    let cached = this.proxyStatements.get(backend);
    if (cached === undefined || cached.epoch !== backend.sessionEpoch) {
      cached = { epoch: backend.sessionEpoch, byText: new Map() };
      this.proxyStatements.set(backend, cached);
    }
    const statements = cached.byText;
    const replaced = statements.get(m.sqlText);
    if (replaced !== undefined) backend.write(closeStatementPacket(replaced.id));
    statements.delete(m.sqlText);
    statements.set(m.sqlText, { id: captured.tracker.preparedId, paramCount: captured.tracker.preparedParams });
    // Statements prepared for other clients count against the server's global
    // max_prepared_stmt_count: keep a few per connection, closing the oldest.
    if (statements.size > MAX_PROXY_STATEMENTS_PER_CONNECTION) {
      const [oldestText, oldest] = statements.entries().next().value!;
      statements.delete(oldestText);
      backend.write(closeStatementPacket(oldest.id)); // COM_STMT_CLOSE has no response
    }
  }

  /**
   * Every row of a merged INSERT generated its id, or none did, so each
   * member's LAST_INSERT_ID() is its own and the runner's needs no restoring.
   */
  private async answerMergedInsert(backend: BackendConnection, members: MysqlWrite[], explicitIds: number[] | null, okBytes: Uint8Array, isDeprecateEof: boolean): Promise<void> {
    const ok = readOkHeader(okBytes);
    const increment = this.serverFacts.get(this.group)!.autoIncrementIncrement;
    const warnings = ok.warnings === 0 ? null : await this.warningsByRow(backend, members[0]!.key, members.length, ok.warnings, isDeprecateEof);
    // With explicit ids, the server reports the last row's id only if the column is still
    // AUTO_INCREMENT; 0 means it no longer is (the facts were stale), and then every member's is 0.
    if (explicitIds !== null && ok.lastInsertId !== explicitIds[explicitIds.length - 1]) explicitIds = explicitIds.map(() => 0);
    members.forEach((m, i) => {
      // An explicit id is the member's insert id, as directly; LAST_INSERT_ID() stays as it was.
      const id = explicitIds !== null ? explicitIds[i]! : ok.lastInsertId === 0 ? 0 : ok.lastInsertId + i * increment;
      m.client.deliverBatched(m, memberOk(1, id, warnings?.[i] ?? 0, m.statusFlags), members.length, explicitIds === null && id !== 0 ? id : null);
      m.state = 'done';
    });
  }

  /**
   * A merged INSERT raised warnings: which member's row each belongs to, from
   * SHOW WARNINGS ("... at row N"). A warning that names no row counts for
   * every member, since each might have caused it. The key's later batches
   * run as a transaction, where every member gets its own count from the server.
   */
  private async warningsByRow(backend: BackendConnection, key: string, rows: number, total: number, isDeprecateEof: boolean): Promise<number[]> {
    if (this.warningKeys.size >= 10_000) this.warningKeys.clear();
    this.warningKeys.add(key);
    const counts = new Array<number>(rows).fill(0);
    const response = awaitResponse(backend, isDeprecateEof);
    backend.write(queryPacket('SHOW WARNINGS'));
    const captured = await response;
    const listed = captured.ok && !isErrResponse(captured.bytes) ? readTextRows(captured.bytes, isDeprecateEof) : [];
    let unattributed = total - listed.length; // beyond max_error_count, or not listed
    for (const [, , message] of listed) {
      const row = /\bat row (\d+)/.exec(message ?? '');
      const index = row === null ? -1 : Number(row[1]) - 1;
      if (index >= 0 && index < rows) counts[index]!++;
      else unattributed++;
    }
    return unattributed > 0 ? counts.map((n) => n + unattributed) : counts;
  }

  /**
   * `DELETE FROM t WHERE pk = v` members merged as `DELETE FROM t WHERE pk IN
   * (...) RETURNING pk`, when pk is the table's integer one-column primary
   * key and every value is a plain integer: the keys returned say which
   * member removed a row. `keys[i]` is member i's key as the server prints it.
   */
  private mergedDelete(members: MysqlWrite[], tableKey: string): MergedStatement | null {
    if (members.length < 2 || this.isDeleteReturningUnsupported || this.warningKeys.has(members[0]!.key)) return null;
    const key = this.tableFacts.get(tableKey)?.integerPrimaryKey ?? null;
    const head = members[0]!;
    const headShape = head.statement.deleteShape;
    if (key === null || headShape === null || headShape.column.toLowerCase() !== key.toLowerCase()) return null;
    const keys: string[] = [];
    for (const m of members) {
      const shape = m.statement.deleteShape;
      if (shape === null || shape.table !== headShape.table || shape.column !== headShape.column) return null;
      let text = m.sqlText.slice(shape.valueStart, shape.valueEnd);
      if (shape.valueKind === 'placeholder') {
        const literals = literalsOf(m);
        if (literals === null || m.prepared?.paramCount !== 1) return null;
        text = String.fromCharCode(...literals[0]!.subarray(0, 24));
        if (!/^\d+$/.test(text)) return null;
      }
      const value = BigInt(text);
      keys.push(value.toString());
    }
    const { bytes: headSql } = sqlOf(head);
    const prefix = headSql.subarray(0, byteOffsetOf(head.sqlText, headSql, headShape.operatorStart));
    const column = `\`${key.replace(/`/g, '``')}\``;
    const list = utf8.encode(` IN (${[...new Set(keys)].join(',')}) RETURNING ${column}`);
    const sql = new Uint8Array(prefix.length + list.length);
    sql.set(prefix, 0);
    sql.set(list, prefix.length);
    return { kind: 'delete', sql, keys };
  }

  /** Whether an INSERT stores an explicit integer in its table's AUTO_INCREMENT column (so it generates no id). */
  private hasExplicitId(m: MysqlWrite, tableKey: string): boolean {
    const shape = m.statement.insertShape;
    const auto = this.tableFacts.get(tableKey)?.autoIncrementColumn ?? null;
    if (!m.isInsert || shape === null || shape.columns === null || auto === null) return false;
    const at = shape.columns.findIndex((c: string) => c.toLowerCase() === auto.toLowerCase());
    if (at < 0) return false;
    const facts = this.serverFacts.get(this.group);
    return typeof autoIncrementValue(shape.firstRow[at], m.sqlText, m.prepared === null ? null : literalsOf(m), facts?.isNoAutoValueOnZero ?? false) === 'number';
  }

  /**
   * The merged multi-row INSERT, when the batch qualifies for it and every
   * member's insert id is known: all rows generate theirs (consecutive ids),
   * or all give an explicit integer (`explicitIds`, each member's own).
   */
  private mergedInsert(members: MysqlWrite[], tableKey: string): MergedStatement | null {
    if (members.length < 2 || this.warningKeys.has(members[0]!.key)) return null;
    const facts = this.serverFacts.get(this.group);
    const table = this.tableFacts.get(tableKey);
    if (facts === undefined || table === undefined || !table.isKnown || facts.autoincLockMode > 1) return null;
    const tuples: Uint8Array[] = [];
    const explicitIds: number[] = [];
    let generating = 0;
    let total = 0;
    for (const m of members) {
      const shape = m.statement.insertShape;
      if (shape === null || m.statement.kind !== 'insert') return null;
      if (shape.isIgnore || shape.hasOnDuplicateKeyUpdate || shape.hasReturning || shape.hasSelect || shape.hasTrailingClause || shape.rowCount !== 1 || shape.columns === null) return null;
      const literals = m.prepared === null ? null : literalsOf(m);
      if (m.prepared !== null && literals === null) return null;
      const auto = table.autoIncrementColumn;
      const at = auto === null ? -1 : shape.columns.findIndex((c: string) => c.toLowerCase() === auto.toLowerCase());
      const id = at < 0 ? 'generated' : autoIncrementValue(shape.firstRow[at], m.sqlText, literals, facts.isNoAutoValueOnZero);
      if (id === null) return null;
      if (id === 'generated') generating++;
      else explicitIds.push(id);
      // A mix would leave the generated ids' arithmetic unknown.
      if (generating > 0 && explicitIds.length > 0) return null;
      const tuple = tupleOf(m, literals);
      if (tuple === null) return null;
      tuples.push(tuple);
      total += tuple.length + 1;
    }
    const head = members[0]!;
    const { bytes: headSql } = sqlOf(head);
    const headShape = head.statement.insertShape!;
    const prefixEnd = byteOffsetOf(head.sqlText, headSql, headShape.valuesStart);
    // Only comments or a `;` follow the tuple (no trailing clause), and no placeholder.
    const suffix = headSql.subarray(byteOffsetOf(head.sqlText, headSql, headShape.valuesEnd));
    const out = new Uint8Array(prefixEnd + total + suffix.length);
    out.set(headSql.subarray(0, prefixEnd), 0);
    let at = prefixEnd;
    tuples.forEach((tuple, i) => {
      if (i > 0) out[at++] = 0x2c; // ','
      out.set(tuple, at);
      at += tuple.length;
    });
    out.set(suffix, at);
    return { kind: 'insert', sql: out.subarray(0, at + suffix.length), explicitIds: explicitIds.length > 0 ? explicitIds : null };
  }

  /** SQL that learns the server and table facts, or null when they are already known. */
  private factsQueryFor(first: MysqlWrite, tableKey: string): string | null {
    const now = performance.now();
    const server = this.serverFacts.get(this.group);
    const needsServer = server === undefined || now - server.learnedAtMs > FACTS_TTL_MS;
    const name = tableOf(first);
    const table = this.tableFacts.get(tableKey);
    const needsTable = name !== null && (table === undefined || now - table.learnedAtMs > FACTS_TTL_MS);
    if (!needsServer && !needsTable) return null;
    let tableColumns = 'NULL, 0, NULL, NULL';
    if (name !== null) {
      // A name that was quoted and holds a dot is misread here; the table is then not found and never merged.
      const dot = name.lastIndexOf('.');
      const schema = dot >= 0 ? sqlString(name.slice(0, dot)) : 'DATABASE()';
      const table = sqlString(dot >= 0 ? name.slice(dot + 1) : name);
      const where = `TABLE_SCHEMA = ${schema} AND TABLE_NAME = ${table}`;
      tableColumns =
        `(SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE ${where} AND EXTRA LIKE '%auto_increment%' LIMIT 1), ` +
        `(SELECT COUNT(*) FROM information_schema.TABLES WHERE ${where}), ` +
        `(SELECT GROUP_CONCAT(COLUMN_NAME) FROM information_schema.KEY_COLUMN_USAGE WHERE ${where} AND CONSTRAINT_NAME = 'PRIMARY'), ` +
        `(SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE ${where} AND COLUMN_KEY = 'PRI' LIMIT 1)`;
    }
    return `SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment, @@max_allowed_packet, @@innodb_rollback_on_timeout, ${tableColumns}, FIND_IN_SET('NO_AUTO_VALUE_ON_ZERO', @@sql_mode) > 0`;
  }

  private async learn(response: Promise<Captured> | null, tableKey: string, isDeprecateEof: boolean): Promise<void> {
    if (response === null) return;
    const captured = await response;
    if (!captured.ok || isErrResponse(captured.bytes)) return;
    const row = readTextRows(captured.bytes, isDeprecateEof)[0];
    if (row === undefined) return;
    this.serverFacts.set(this.group, {
      autoincLockMode: Number(row[0] ?? 2),
      autoIncrementIncrement: Number(row[1] ?? 1),
      maxAllowedPacket: Number(row[2] ?? 4194304),
      isRollbackOnTimeout: row[3] === '1',
      isNoAutoValueOnZero: row[8] !== '0',
      learnedAtMs: performance.now(),
    });
    if (tableKey === '') return;
    const primaryKey = row[6] ?? null;
    const isIntegerKey = primaryKey !== null && !primaryKey.includes(',') && INTEGER_TYPES.has((row[7] ?? '').toLowerCase());
    this.tableFacts.set(tableKey, { learnedAtMs: performance.now(), isKnown: row[5] === '1', autoIncrementColumn: row[4] ?? null, integerPrimaryKey: isIntegerKey ? primaryKey : null });
  }

  private async previousId(response: Promise<Captured> | null, runner: BatchClient, isDeprecateEof: boolean): Promise<number | null> {
    if (response === null) return runner.pendingInsertId;
    const captured = await response;
    if (!captured.ok || isErrResponse(captured.bytes)) return null;
    const value = readTextRows(captured.bytes, isDeprecateEof)[0]?.[0];
    return value === undefined || value === null ? null : Number(value);
  }

  private write(backend: BackendConnection, pipeline: Uint8Array[]): boolean {
    let total = 0;
    for (const p of pipeline) total += p.length;
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of pipeline) {
      all.set(p, at);
      at += p.length;
    }
    return backend.write(all);
  }

  /** Nothing was sent: every member runs on its own connection. */
  private async fallBack(members: MysqlWrite[], runner: BatchClient): Promise<void> {
    const direct: Promise<void>[] = [];
    for (const m of members) {
      m.state = 'done';
      if (m.client === runner && !runner.isOpen) continue;
      direct.push(m.client.runDirect(m));
    }
    await Promise.all(direct);
  }

  private lostBeforeAnswer(members: MysqlWrite[], _runner: BatchClient, error: ProxyError): void {
    const err = errPacketFor('BACKEND_LOST', `${error.message}; the write's outcome is unknown`);
    for (const m of members) {
      m.client.deliverBatched(m, errorPacket(err.code, err.sqlState, err.message), members.length);
      m.state = 'done';
    }
  }
}

/** One statement that does the work of every member of a batch, and what tells each its own result. */
type MergedStatement = { kind: 'insert'; sql: Uint8Array; explicitIds: number[] | null } | { kind: 'delete'; sql: Uint8Array; keys: string[] };

/**
 * Each removed key goes to the first member that named it: the others, run
 * after it directly, would have found nothing to delete.
 */
function answerMergedDelete(members: MysqlWrite[], keys: string[], resultBytes: Uint8Array, isDeprecateEof: boolean): void {
  const removed = new Set(readTextRows(resultBytes, isDeprecateEof).map((row) => row[0]));
  members.forEach((m, i) => {
    const isRemoved = removed.delete(keys[i]!);
    m.client.deliverBatched(m, memberOk(isRemoved ? 1 : 0, 0, 0, m.statusFlags), members.length);
    m.state = 'done';
  });
}

/** The table a member writes, when its statement has a shape the batcher can merge. */
function tableOf(m: MysqlWrite): string | null {
  return m.statement.insertShape?.table ?? m.statement.deleteShape?.table ?? null;
}

/** DATA_TYPE values of exact integer columns. */
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);
const ER_PARSE_ERROR = 1064;
const utf8 = new TextEncoder();

/** The SQL text a member was parsed from, as bytes: the query itself, or the prepared statement's text. */
function sqlOf(m: MysqlWrite): { bytes: Uint8Array } {
  return { bytes: m.prepared === null ? m.packet.subarray(5) : m.prepared.sqlBytes };
}

/**
 * A prepared member's bound parameters as SQL literals, or null when they
 * cannot be rendered exactly (or the session's charset makes quoting unsafe).
 */
function literalsOf(m: MysqlWrite): Uint8Array[] | null {
  if (m.prepared === null || !m.isLiteralSafe) return null;
  const { paramCount, boundTypes } = m.prepared;
  return renderParameters(m.packet.subarray(4), paramCount, boundTypes, m.hasBackslashEscapes);
}

const NULL_TEXT = 'NULL';

/**
 * What a row whose AUTO_INCREMENT column gets `value` stores there:
 * 'generated' for a new id, the id itself for an explicit integer, or null
 * when the proxy cannot tell exactly (an expression, a string, a float).
 */
function autoIncrementValue(value: RowValue | undefined, sqlText: string, literals: Uint8Array[] | null, isNoAutoValueOnZero: boolean): 'generated' | number | null {
  if (value === undefined) return null;
  let kind = value.kind;
  let text = sqlText.slice(value.start, value.end);
  if (kind === 'placeholder') {
    const literal = literals?.[value.paramIndex];
    text = literal === undefined || literal.length > 16 ? '' : String.fromCharCode(...literal);
    kind = text === NULL_TEXT ? 'null' : /^0+$/.test(text) ? 'zero' : /^\d+$/.test(text) ? 'integer' : 'expression';
  }
  if (kind === 'null' || kind === 'default') return 'generated';
  if (kind === 'zero') return isNoAutoValueOnZero ? 0 : 'generated';
  if (kind !== 'integer') return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}

/**
 * The bytes of a member's single VALUES tuple as SQL: its own text, or for a
 * prepared statement the tuple with each `?` replaced by its bound value as
 * a literal (`literals`). Null when that cannot be done exactly.
 */
function tupleOf(m: MysqlWrite, literals: Uint8Array[] | null): Uint8Array | null {
  const shape = m.statement.insertShape!;
  const sql = sqlOf(m).bytes;
  const start = byteOffsetOf(m.sqlText, sql, shape.valuesStart);
  const end = byteOffsetOf(m.sqlText, sql, shape.valuesEnd);
  if (m.prepared === null) return sql.subarray(start, end);
  if (literals === null) return null;
  const { paramCount } = m.prepared;
  if (placeholderOffsets(sql, 0, start).length > 0) return null;
  const holes = placeholderOffsets(sql, start, end);
  if (holes.length !== paramCount) return null;
  let length = end - start - paramCount;
  for (const literal of literals) length += literal.length;
  const out = new Uint8Array(length);
  let from = start;
  let at = 0;
  holes.forEach((hole, i) => {
    out.set(sql.subarray(from, hole), at);
    at += hole - from;
    out.set(literals[i]!, at);
    at += literals[i]!.length;
    from = hole + 1;
  });
  out.set(sql.subarray(from, end), at);
  return out;
}

function errorPacket(code: number, sqlState: string, message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const out = new Uint8Array(4 + 9 + body.length);
  const len = 9 + body.length;
  out[0] = len & 0xff;
  out[1] = (len >> 8) & 0xff;
  out[2] = (len >> 16) & 0xff;
  out[3] = 1;
  out[4] = 0xff;
  out[5] = code & 0xff;
  out[6] = code >> 8;
  out[7] = 0x23;
  out.set(new TextEncoder().encode(sqlState.slice(0, 5)), 8);
  out.set(body, 13);
  return out;
}

export { firstPayload };
