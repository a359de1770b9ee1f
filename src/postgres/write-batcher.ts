// Runs PostgreSQL write batches: one pipeline of the members' statements closed by a single Sync
// on one member's connection (every member of a batch has the same user, database and encoding).
import type { BatchMember, BatchRunner } from '../core/batch/batch-manager.ts';
import { ProxyError } from '../core/errors.ts';
import type { Statement } from '../core/sql/index.ts';
import type { PgBackendConnection, ResponseSink } from './backend.ts';
import { buildPipeline, splitPipelineAnswer, type PipelineMember } from './batch-sql.ts';
import { MessageWriter } from './wire/writer.ts';

/** One queued write: the member as the batch manager and the pipeline see it. */
export interface PgWrite extends BatchMember, PipelineMember {
  readonly client: PgBatchClient;
  readonly statement: Statement;
  /** The client's own messages (owned): what runs when the write goes alone. */
  readonly original: Uint8Array;
  /** Names its Parse creates, and that Parse within `original`: replayed on the client's connection after a batch ran it. */
  readonly parsedNames: readonly string[];
  readonly parseRaw: Uint8Array | null;
}

/** What a client connection offers its batched writes. Implemented by PgClientConnection. */
export interface PgBatchClient {
  /** The connection's backend, idle and lent to a batch; null when it cannot lend it now. */
  lendBackend(): PgBackendConnection | null;
  returnBackend(): void;
  /** The write's answer from a committed batch of `batchSize`. */
  deliverBatched(write: PgWrite, answer: Uint8Array, batchSize: number): void;
  /** Runs the write alone on the client's own connection; resolves when its answer has ended. */
  runDirect(write: PgWrite, isBatchOfOne: boolean): Promise<void>;
  /** The write cannot be answered (its outcome is unknown, or the proxy gave up on it). */
  failBatched(write: PgWrite, error: ProxyError): void;
}

/** SQLSTATE 26000: a Bind named a statement the session does not have. */
const INVALID_STATEMENT_NAME = '26000';

export interface PgBatchObserver {
  /** A batch ran as one pipeline (true) or its members ran alone (false: a batch of one, a rollback, no connection). */
  pipelined(size: number): void;
}

/** Collects the whole answer to a pipeline (copied: members' answers are cut out of it after it ends). */
class PipelineSink implements ResponseSink {
  private chunks: Uint8Array[] = [];
  readonly done: Promise<{ answer: Uint8Array } | { lost: ProxyError }>;
  private resolve!: (value: { answer: Uint8Array } | { lost: ProxyError }) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  onMessage(): void {}

  onBytes(buf: Uint8Array, start: number, end: number): void {
    this.chunks.push(buf.slice(start, end)); // owned: the backend's chunk is borrowed
  }

  onEnd(): void {
    this.resolve({ answer: Buffer.concat(this.chunks) });
  }

  onLost(error: ProxyError): void {
    this.resolve({ lost: error });
  }
}

export class PgWriteBatcher implements BatchRunner<PgWrite> {
  private readonly writer = new MessageWriter(4096);
  private readonly observer: PgBatchObserver;
  /** Pipelines stay well below PostgreSQL's 1 GB message limit and the socket buffers. */
  readonly maxBatchBytes = 4 * 1024 * 1024;

  constructor(observer: PgBatchObserver) {
    this.observer = observer;
  }

  async run(members: PgWrite[]): Promise<void> {
    if (members.length === 1) {
      await members[0]!.client.runDirect(members[0]!, true);
      return;
    }
    // Any member's connection will do: the batch key gave them one user, database and encoding.
    for (const lender of members) {
      const backend = lender.client.lendBackend();
      if (backend !== null) {
        await this.runPipeline(members, lender, backend);
        return;
      }
    }
    await this.runAlone(members);
  }

  /** Every member alone, on its own connection (concurrently, as they arrived). */
  private async runAlone(members: PgWrite[]): Promise<void> {
    this.observer.pipelined(0);
    await Promise.all(members.map((m) => m.client.runDirect(m, false)));
  }

  private async runPipeline(members: PgWrite[], lender: PgWrite, backend: PgBackendConnection): Promise<void> {
    const sink = new PipelineSink();
    const statements = backend.batchStatements;
    const plan = buildPipeline(this.writer, members, statements);
    backend.expect(sink);
    backend.write(plan.bytes);
    const result = await sink.done;
    lender.client.returnBackend();
    if ('lost' in result) {
      // The Sync may have committed before the connection went: running the members again could run them twice.
      const error = new ProxyError('BATCH_ABORTED', `the connection running this write's batch was lost (${result.lost.message}); whether the write committed is unknown`);
      for (const m of members) m.client.failBatched(m, error);
      return;
    }
    const outcome = splitPipelineAnswer(result.answer, members);
    if (outcome.kind === 'committed') {
      this.observer.pipelined(members.length);
      members.forEach((m, i) => m.client.deliverBatched(m, outcome.answers[i]!, members.length));
      return;
    }
    if (outcome.kind === 'malformed') {
      statements.clear();
      const error = new ProxyError('BATCH_ABORTED', `the batch's answer could not be split (${outcome.reason}); whether the write committed is unknown`);
      for (const m of members) m.client.failBatched(m, error);
      return;
    }
    if (outcome.sqlState === INVALID_STATEMENT_NAME) {
      // The session lost the proxy's statements (a client's DEALLOCATE or DISCARD): parse them afresh next time.
      statements.clear();
    } else if (outcome.failedMember >= 0) {
      // Parses from the failed member on were skipped or failed; earlier ones exist (statements outlive a rollback).
      for (const p of plan.parsed) if (p.member >= outcome.failedMember) statements.forget(p.key);
    }
    // Rolled back (a member failed, or the commit did): nothing took effect, so each runs alone and gets its own answer.
    await this.runAlone(members);
  }

  abandon(member: PgWrite, reason: 'timeout' | 'shutdown'): void {
    const error =
      reason === 'timeout'
        ? new ProxyError('BATCH_TIMEOUT', 'the write waited too long for its batch and was not run')
        : new ProxyError('SHUTTING_DOWN', 'the proxy is shutting down; the write was not run');
    member.client.failBatched(member, error);
  }
}
