// How a neutral batch of writes becomes one PostgreSQL pipeline and how its answer splits back.
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
//
// Every member becomes Parse/Bind/Describe/Execute on the unnamed statement
// and portal; one Sync closes them all, so they run in one implicit
// transaction with one commit. Each member's answer is cut out of the
// server's stream message by message and given back in the shape its client
// asked for (simple Query, or the extended messages it sent), with the
// server's own RowDescription, DataRow and CommandComplete bytes.
import { Backend, Frontend, TxStatus } from './wire/constants.ts';
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

/** Bind with no parameters and text results: what a simple Query member binds. */
export const EMPTY_BIND_TAIL: Uint8Array = Uint8Array.of(0, 0, 0, 0, 0, 0);
export const NO_PARAM_TYPES: Uint8Array = Uint8Array.of(0, 0);

/** Builds the pipeline for `members`, ending in one Sync. */
export function buildPipeline(w: MessageWriter, members: readonly PipelineMember[]): Uint8Array {
  w.reset();
  for (const m of members) {
    w.begin(Frontend.Parse).u8(0).cstr(m.sql).bytes(m.paramTypes).end();
    w.begin(Frontend.Bind).u8(0).u8(0).bytes(m.bindTail).end();
    w.begin(Frontend.Describe).u8(0x50).u8(0).end();
    w.begin(Frontend.Execute).u8(0).i32(0).end();
  }
  w.begin(Frontend.Sync).end();
  return w.finish();
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
   * A member failed, so the server rolled the whole implicit transaction
   * back: nothing took effect, every member must be run again on its own.
   */
  | { kind: 'rolled-back'; failedMember: number }
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
          return { kind: 'rolled-back', failedMember: i };
        case Backend.ParameterStatus:
        case Backend.NotificationResponse:
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
    if (m.type === Backend.ErrorResponse) return { kind: 'rolled-back', failedMember: -1 };
  }
  return { kind: 'malformed', reason: 'no ReadyForQuery' };
}

/** ReadyForQuery idle, the end of every member's own answer (its session was idle and stays so). */
const READY_IDLE = Uint8Array.of(Backend.ReadyForQuery, 0, 0, 0, 5, TxStatus.Idle);

function answerFor(shape: string, parts: readonly Message[]): Uint8Array {
  const isSimple = shape === 'Q';
  const wantsParse = shape.includes('P');
  const wantsDescribe = shape.includes('D');
  const kept: Uint8Array[] = [];
  for (const m of parts) {
    switch (m.type) {
      case Backend.ParseComplete:
        if (!isSimple && wantsParse) kept.push(m.raw);
        break;
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
