// How a neutral batch of writes becomes one PostgreSQL pipeline and how its answer splits back.
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
//
// Every member becomes Bind/Execute (with Describe when its client asked for
// row descriptions) and one Sync closes them all, so they run in one implicit
// transaction with one commit. A member from the extended protocol binds the
// proxy's own named statement for its template on that server session, parsed
// once and then reused, so the server plans it once rather than per member; a
// simple Query member (its literals are in the text) is parsed into one
// scratch statement, closed and parsed again per member. The unnamed
// statement is never used: it may be the lending client's own.
//
// Each member's answer is cut out of the server's stream message by message
// and given back in the shape its client asked for (simple Query, or the
// extended messages it sent), with the server's own RowDescription, DataRow
// and CommandComplete bytes.
import { Backend, Frontend, TxStatus } from './wire/constants.ts';
import { readErrorFields } from './wire/messages.ts';
import { MessageWriter } from './wire/writer.ts';

/** What one member contributes to the pipeline (all bytes owned by the member). */
export interface PipelineMember {
  sql: string;
  /** Parse's parameter type count and OIDs as the client sent them (two zero bytes for none). */
  paramTypes: Uint8Array;
  /** Bind after its two names: parameter formats, values, result formats (a simple Query: all counts zero). */
  bindTail: Uint8Array;
  /**
   * What the client sent and so expects back: 'Q' for a simple Query, else
   * the extended letters it used (P, B, D for Describe portal, E).
   */
  shape: string;
}

/** Prefix of the proxy's statement names; a client naming its own statements so would collide. */
export const BATCH_STATEMENT_PREFIX = 'tqdbproxy_batch_';

/** The statement a simple Query member is parsed into, closed before each use (its text has the member's literals). */
export const SIMPLE_MEMBER_STATEMENT = `${BATCH_STATEMENT_PREFIX}q`;

/** Named statements kept per server session before they are closed and parsed afresh. */
const MAX_BATCH_STATEMENTS = 64;

/**
 * The proxy's own named statements on one server session: one per batched
 * template (SQL text and parameter types). Owned by the backend connection,
 * since they live in its server session. Names are never reused, so a
 * statement whose fate is unknown after a rollback is simply forgotten.
 */
export class BatchStatements {
  private readonly names = new Map<string, string>();
  private nextId = 1;

  get size(): number {
    return this.names.size;
  }

  /** The statement for `sql` with `paramTypes`; `isNew` when the pipeline must parse it first. */
  lookup(sql: string, paramTypes: Uint8Array): { name: string; isNew: boolean; key: string } {
    const key = paramTypes.length === 2 ? sql : `${sql}\u0000${String.fromCharCode(...paramTypes)}`;
    const known = this.names.get(key);
    if (known !== undefined) return { name: known, isNew: false, key };
    const name = `${BATCH_STATEMENT_PREFIX}${this.nextId++}`;
    this.names.set(key, name);
    return { name, isNew: true, key };
  }

  /** Names to close before the next pipeline adds more, when the session holds too many; they are forgotten. */
  takeOverflow(): string[] {
    if (this.names.size < MAX_BATCH_STATEMENTS) return [];
    const names = [...this.names.values()];
    this.names.clear();
    return names;
  }

  forget(key: string): void {
    this.names.delete(key);
  }

  /** The server has none of them (its session was reset, or a client dropped them). */
  clear(): void {
    this.names.clear();
  }
}

/** Which of the members' Parse messages a pipeline carries, so a rollback can forget what it may not have made. */
export interface PipelinePlan {
  bytes: Uint8Array;
  /** Keys of statements this pipeline parses, with the index of the member whose Parse it is. */
  parsed: Array<{ key: string; member: number }>;
}

/** Bind with no parameters and text results: what a simple Query member binds. */
export const EMPTY_BIND_TAIL: Uint8Array = Uint8Array.of(0, 0, 0, 0, 0, 0);
export const NO_PARAM_TYPES: Uint8Array = Uint8Array.of(0, 0);

/** Builds the pipeline for `members` on the lender's server session, whose statements are `statements`, ending in one Sync. */
export function buildPipeline(w: MessageWriter, members: readonly PipelineMember[], statements: BatchStatements): PipelinePlan {
  w.reset();
  const parsed: PipelinePlan['parsed'] = [];
  for (const name of statements.takeOverflow()) w.begin(Frontend.Close).u8(0x53).cstr(name).end();
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    let name: string;
    if (m.shape === 'Q') {
      // Not the unnamed statement: the lender's client may still bind the one it parsed there.
      name = SIMPLE_MEMBER_STATEMENT;
      w.begin(Frontend.Close).u8(0x53).cstr(name).end();
      w.begin(Frontend.Parse).cstr(name).cstr(m.sql).bytes(m.paramTypes).end();
    } else {
      const statement = statements.lookup(m.sql, m.paramTypes);
      name = statement.name;
      if (statement.isNew) {
        w.begin(Frontend.Parse).cstr(name).cstr(m.sql).bytes(m.paramTypes).end();
        parsed.push({ key: statement.key, member: i });
      }
    }
    w.begin(Frontend.Bind).u8(0).cstr(name).bytes(m.bindTail).end();
    // Only a row description someone reads is asked for: a simple Query's (it always has one) or the client's own Describe.
    if (m.shape === 'Q' || m.shape.includes('D')) w.begin(Frontend.Describe).u8(0x50).u8(0).end();
    w.begin(Frontend.Execute).u8(0).i32(0).end();
  }
  w.begin(Frontend.Sync).end();
  return { bytes: w.finish(), parsed };
}

/** A message of the server's answer: its type and its bytes, header included (views into the answer). */
interface Message {
  type: number;
  raw: Uint8Array;
}

export type PipelineOutcome =
  /** Every member ran and the batch committed: each member's answer, in member order. */
  | { kind: 'committed'; answers: Uint8Array[] }
  /**
   * A member failed (or, with -1, the commit did), so the server rolled the
   * whole implicit transaction back: nothing took effect, every member must
   * be run again on its own. `sqlState` is the server's error code.
   */
  | { kind: 'rolled-back'; failedMember: number; sqlState: string }
  /** The answer does not have the shape the pipeline must produce: nothing can be told for sure. */
  | { kind: 'malformed'; reason: string };

/**
 * Splits the server's whole answer to `buildPipeline(members)` (everything up
 * to and including its ReadyForQuery) into one answer per member.
 * NoticeResponses stay with the member they arrived in; ParameterStatus and
 * NotificationResponse are no member's and are left out.
 */
export function splitPipelineAnswer(answer: Uint8Array, members: readonly PipelineMember[]): PipelineOutcome {
  const messages = splitMessages(answer);
  if (messages === null) return { kind: 'malformed', reason: 'truncated message' };
  let at = 0;
  const answers: Uint8Array[] = [];
  for (let i = 0; i < members.length; i++) {
    const parts: Message[] = [];
    let isDone = false;
    while (!isDone) {
      const m = messages[at++];
      if (m === undefined) return { kind: 'malformed', reason: `answer ended inside member ${i}` };
      switch (m.type) {
        case Backend.ErrorResponse:
          return { kind: 'rolled-back', failedMember: i, sqlState: readErrorFields(m.raw.subarray(5)).code };
        case Backend.ParameterStatus:
        case Backend.NotificationResponse:
        case Backend.CloseComplete:
        case Backend.ParseComplete:
          // No member's: asynchronous, or the proxy's own Close and Parse (a member's ParseComplete is made in answerFor).
          break;
        case Backend.CommandComplete:
          parts.push(m);
          isDone = true;
          break;
        case Backend.ReadyForQuery:
          return { kind: 'malformed', reason: `ReadyForQuery inside member ${i}` };
        default:
          parts.push(m);
      }
    }
    answers.push(answerFor(members[i]!.shape, parts));
  }
  for (; at < messages.length; at++) {
    const m = messages[at]!;
    if (m.type === Backend.ReadyForQuery) {
      if (m.raw[5] !== TxStatus.Idle) return { kind: 'malformed', reason: 'the batch left a transaction open' };
      return at === messages.length - 1 ? { kind: 'committed', answers } : { kind: 'malformed', reason: 'bytes after ReadyForQuery' };
    }
    // An error here is the COMMIT at Sync failing (e.g. a deferred constraint): nothing took effect.
    if (m.type === Backend.ErrorResponse) return { kind: 'rolled-back', failedMember: -1, sqlState: readErrorFields(m.raw.subarray(5)).code };
  }
  return { kind: 'malformed', reason: 'no ReadyForQuery' };
}

/** ReadyForQuery idle, the end of every member's own answer (its session was idle and stays so). */
const READY_IDLE = Uint8Array.of(Backend.ReadyForQuery, 0, 0, 0, 5, TxStatus.Idle);
/** The answer to the client's own Parse, which the pipeline replaced with the proxy's statement. */
const PARSE_COMPLETE = Uint8Array.of(Backend.ParseComplete, 0, 0, 0, 4);

function answerFor(shape: string, parts: readonly Message[]): Uint8Array {
  const isSimple = shape === 'Q';
  const wantsParse = shape.includes('P');
  const wantsDescribe = shape.includes('D');
  const kept: Uint8Array[] = [];
  if (!isSimple && wantsParse) kept.push(PARSE_COMPLETE);
  for (const m of parts) {
    switch (m.type) {
      case Backend.BindComplete:
        if (!isSimple) kept.push(m.raw);
        break;
      case Backend.NoData:
        if (!isSimple && wantsDescribe) kept.push(m.raw);
        break;
      case Backend.RowDescription:
        // A simple Query always describes its rows; an extended client only when it asked.
        if (isSimple || wantsDescribe) kept.push(m.raw);
        break;
      default:
        kept.push(m.raw);
    }
  }
  kept.push(READY_IDLE);
  return Buffer.concat(kept);
}

function splitMessages(bytes: Uint8Array): Message[] | null {
  const out: Message[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 5 > bytes.length) return null;
    const len = bytes[pos + 1]! * 0x1000000 + ((bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 8) | bytes[pos + 4]!);
    const end = pos + 1 + len;
    if (len < 4 || end > bytes.length) return null;
    out.push({ type: bytes[pos]!, raw: bytes.subarray(pos, end) });
    pos = end;
  }
  return out;
}
