import { describe, expect, it } from 'bun:test';
import { buildPipeline, EMPTY_BIND_TAIL, NO_PARAM_TYPES, splitPipelineAnswer, type PipelineMember } from '../../../src/postgres/batch-sql.ts';
import { MessageWriter } from '../../../src/postgres/wire/writer.ts';
import { concat, pgCstr, pgMessage, pgMessages } from '../../support/bytes.ts';

const simple: PipelineMember = { sql: 'INSERT INTO t VALUES (1)', paramTypes: NO_PARAM_TYPES, bindTail: EMPTY_BIND_TAIL, shape: 'Q' };
const returning: PipelineMember = { sql: 'INSERT INTO t VALUES ($1) RETURNING id', paramTypes: Uint8Array.of(0, 1, 0, 0, 0, 23), bindTail: Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 1, 0x37, 0, 0), shape: 'BE' };
const described: PipelineMember = { ...simple, shape: 'PBDE' };


/** The server's answer to one member of the pipeline (Parse, Bind, Describe portal, Execute). */
function memberAnswer(hasRows: boolean, tag: string): Uint8Array {
  return concat(
    pgMessage('1'),
    pgMessage('2'),
    hasRows ? pgMessage('T', [0, 1, ...pgCstr('id'), 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 255, 255, 255, 255, 0, 0]) : pgMessage('n'),
    ...(hasRows ? [pgMessage('D', [0, 1, 0, 0, 0, 1, 0x37])] : []),
    pgMessage('C', pgCstr(tag)),
  );
}

const ready = pgMessage('Z', [0x49]);

describe('PostgreSQL batch pipeline', () => {
  it('sends Parse/Bind/Describe/Execute per member on the unnamed statement and portal, and one Sync', () => {
    const bytes = buildPipeline(new MessageWriter(), [simple, returning]);
    const messages = pgMessages(bytes);
    expect(messages.map((m) => m.type).join('')).toBe('PBDEPBDES');
    expect([...messages[4]!.body]).toEqual([0, ...pgCstr(returning.sql), ...returning.paramTypes]);
    expect([...messages[5]!.body]).toEqual([0, 0, ...returning.bindTail]);
  });

  it('gives each member the answer in the shape its client asked for', () => {
    const answer = concat(memberAnswer(false, 'INSERT 0 1'), memberAnswer(true, 'INSERT 0 1'), memberAnswer(false, 'INSERT 0 1'), ready);
    const outcome = splitPipelineAnswer(answer, [simple, returning, described]);
    expect(outcome.kind).toBe('committed');
    if (outcome.kind !== 'committed') return;
    const types = outcome.answers.map((a) => pgMessages(a).map((m) => m.type).join(''));
    // Simple Query: no Parse/Bind/NoData; extended without Describe: no RowDescription.
    expect(types).toEqual(['CZ', '2DCZ', '12nCZ']);
  });

  it('keeps a NoticeResponse with its member and drops asynchronous messages', () => {
    const notice = pgMessage('N', [0x53, ...pgCstr('NOTICE'), 0]);
    const status = pgMessage('S', [...pgCstr('application_name'), ...pgCstr('x')]);
    const answer = concat(pgMessage('1'), pgMessage('2'), notice, status, pgMessage('n'), pgMessage('C', pgCstr('INSERT 0 1')), memberAnswer(false, 'INSERT 0 1'), ready);
    const outcome = splitPipelineAnswer(answer, [simple, simple]);
    expect(outcome.kind === 'committed' && pgMessages(outcome.answers[0]!).map((m) => m.type).join('')).toBe('NCZ');
  });

  it('reports a rollback when a member fails, and when the commit fails', () => {
    const error = pgMessage('E', [0x43, ...pgCstr('23505'), 0]);
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), pgMessage('1'), pgMessage('2'), pgMessage('n'), error, ready), [simple, simple, simple])).toEqual({ kind: 'rolled-back', failedMember: 1 });
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), error, ready), [simple])).toEqual({ kind: 'rolled-back', failedMember: -1 });
  });

  it('calls anything else malformed', () => {
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), ready), [simple, simple]).kind).toBe('malformed');
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), pgMessage('Z', [0x54])), [simple]).kind).toBe('malformed');
    expect(splitPipelineAnswer(memberAnswer(false, 'INSERT 0 1').subarray(0, 7), [simple]).kind).toBe('malformed');
  });
});
