import { describe, expect, it } from 'bun:test';
import { BATCH_STATEMENT_PREFIX, BatchStatements, SIMPLE_MEMBER_STATEMENT, buildPipeline, EMPTY_BIND_TAIL, NO_PARAM_TYPES, splitPipelineAnswer, type PipelineMember } from '../../../src/postgres/batch-sql.ts';
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
  it('sends Bind/Execute per member, Describe only where read, and one Sync, never touching the unnamed statement', () => {
    const { bytes } = buildPipeline(new MessageWriter(), [simple, returning], new BatchStatements());
    const messages = pgMessages(bytes);
    expect(messages.map((m) => m.type).join('')).toBe('CPBDEPBES');
    expect([...messages[5]!.body]).toEqual([...pgCstr(`${BATCH_STATEMENT_PREFIX}1`), ...pgCstr(returning.sql), ...returning.paramTypes]);
    expect([...messages[6]!.body]).toEqual([0, ...pgCstr(`${BATCH_STATEMENT_PREFIX}1`), ...returning.bindTail]);
    expect(messages.filter((m) => m.type === 'P' || m.type === 'B').every((m) => m.type === 'B' ? m.body[1] !== 0 : m.body[0] !== 0)).toBe(true);
  });

  it('parses an extended template once per server session as a named statement and binds it from then on', () => {
    const statements = new BatchStatements();
    const first = buildPipeline(new MessageWriter(), [returning, returning, simple], statements);
    const messages = pgMessages(first.bytes);
    // Parse named once, Bind x2; the simple member closes and parses the scratch statement, never the unnamed one.
    expect(messages.map((m) => m.type).join('')).toBe('PBEBECPBDES');
    expect([...messages[5]!.body]).toEqual([0x53, ...pgCstr(SIMPLE_MEMBER_STATEMENT)]);
    expect([...messages[7]!.body]).toEqual([0, ...pgCstr(SIMPLE_MEMBER_STATEMENT), ...simple.bindTail]);
    expect(messages.every((m) => m.type !== 'P' || m.body[0] !== 0)).toBe(true);
    const name = `${BATCH_STATEMENT_PREFIX}1`;
    expect([...messages[0]!.body]).toEqual([...pgCstr(name), ...pgCstr(returning.sql), ...returning.paramTypes]);
    expect([...messages[1]!.body]).toEqual([0, ...pgCstr(name), ...returning.bindTail]);
    expect(first.parsed).toEqual([{ key: expect.any(String), member: 0 }]);
    const second = buildPipeline(new MessageWriter(), [returning], statements);
    expect(pgMessages(second.bytes).map((m) => m.type).join('')).toBe('BES');
    // Other parameter types are another statement.
    const retyped = buildPipeline(new MessageWriter(), [{ ...returning, paramTypes: Uint8Array.of(0, 1, 0, 0, 0, 20) }], statements);
    expect(pgMessages(retyped.bytes).map((m) => m.type).join('')).toBe('PBES');
    expect(statements.size).toBe(2);
  });

  it('forgets a statement whose Parse may not have run, and names the next one afresh', () => {
    const statements = new BatchStatements();
    const plan = buildPipeline(new MessageWriter(), [returning], statements);
    statements.forget(plan.parsed[0]!.key);
    const again = buildPipeline(new MessageWriter(), [returning], statements);
    const parse = pgMessages(again.bytes)[0]!;
    expect(parse.type).toBe('P');
    expect([...parse.body.subarray(0, pgCstr(`${BATCH_STATEMENT_PREFIX}2`).length)]).toEqual(pgCstr(`${BATCH_STATEMENT_PREFIX}2`));
  });

  it('closes every statement of a session that holds too many before parsing more', () => {
    const statements = new BatchStatements();
    for (let i = 0; i < 64; i++) buildPipeline(new MessageWriter(), [{ ...returning, sql: `INSERT INTO t${i} VALUES ($1)` }], statements);
    const plan = buildPipeline(new MessageWriter(), [returning], statements);
    const types = pgMessages(plan.bytes).map((m) => m.type).join('');
    expect(types).toBe(`${'C'.repeat(64)}PBES`);
    expect(statements.size).toBe(1);
  });

  it('gives each member the answer in the shape its client asked for', () => {
    const answer = concat(memberAnswer(false, 'INSERT 0 1'), memberAnswer(true, 'INSERT 0 1'), memberAnswer(false, 'INSERT 0 1'), ready);
    const outcome = splitPipelineAnswer(answer, [simple, returning, described]);
    expect(outcome.kind).toBe('committed');
    if (outcome.kind !== 'committed') return;
    const types = outcome.answers.map((a) => pgMessages(a).map((m) => m.type).join(''));
    // Simple Query: no Parse/Bind/NoData; extended without Describe: no RowDescription; a client's Parse is answered.
    expect(types).toEqual(['CZ', '2DCZ', '12nCZ']);
  });

  it('skips the CloseComplete and ParseComplete of the statements the proxy made', () => {
    const answer = concat(pgMessage('3'), pgMessage('1'), pgMessage('2'), pgMessage('C', pgCstr('INSERT 0 1')), pgMessage('2'), pgMessage('C', pgCstr('INSERT 0 1')), ready);
    const outcome = splitPipelineAnswer(answer, [returning, { ...returning, shape: 'PBE' }]);
    expect(outcome.kind === 'committed' && outcome.answers.map((a) => pgMessages(a).map((m) => m.type).join(''))).toEqual(['2CZ', '12CZ']);
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
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), pgMessage('1'), pgMessage('2'), pgMessage('n'), error, ready), [simple, simple, simple])).toEqual({ kind: 'rolled-back', failedMember: 1, sqlState: '23505' });
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), error, ready), [simple])).toEqual({ kind: 'rolled-back', failedMember: -1, sqlState: '23505' });
  });

  it('calls anything else malformed', () => {
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), ready), [simple, simple]).kind).toBe('malformed');
    expect(splitPipelineAnswer(concat(memberAnswer(false, 'INSERT 0 1'), pgMessage('Z', [0x54])), [simple]).kind).toBe('malformed');
    expect(splitPipelineAnswer(memberAnswer(false, 'INSERT 0 1').subarray(0, 7), [simple]).kind).toBe('malformed');
  });
});
