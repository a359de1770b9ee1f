import { describe, expect, it } from 'bun:test';
import { createLogger, type LoggerOptions, type RootLogger } from '../../src/log.ts';

const NOW = new Date('2026-11-27T03:04:20.123Z');

function capture(options: Partial<LoggerOptions> = {}): { log: RootLogger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'text', now: () => NOW, write: (line) => lines.push(line), ...options });
  return { log, lines };
}

describe('createLogger, text format', () => {
  it('writes time, LEVEL, message and fields in the order given', () => {
    const { log, lines } = capture();
    log.info('listening', { protocol: 'mariadb', address: '127.0.0.1:41234' });
    expect(lines).toEqual(['2026-11-27T03:04:20.123Z INFO listening protocol=mariadb address=127.0.0.1:41234\n']);
  });

  it('writes the metrics line the test harness reads', () => {
    const { log, lines } = capture();
    log.info('metrics listening', { address: '[::1]:9090' });
    expect(lines[0]).toBe('2026-11-27T03:04:20.123Z INFO metrics listening address=[::1]:9090\n');
  });

  it('quotes values with spaces, quotes, = or control characters, and empty ones', () => {
    const { log, lines } = capture();
    log.warn('w', { a: 'two words', b: 'say "hi"', c: 'k=v', d: 'line\nbreak', e: '', f: 'plain' });
    expect(lines[0]).toBe(
      '2026-11-27T03:04:20.123Z WARN w a="two words" b="say \\"hi\\"" c="k=v" d="line\\nbreak" e="" f=plain\n',
    );
  });

  it('renders numbers, booleans, null, undefined, bigints, dates, errors and objects', () => {
    const { log, lines } = capture();
    const error = Object.assign(new TypeError('bad thing'), { code: 'E_BAD' });
    log.error('e', {
      n: 1.5,
      t: true,
      z: null,
      u: undefined,
      big: 12n,
      at: new Date('2026-01-02T03:04:05.000Z'),
      err: error,
      plain: new Error('oops'),
      obj: { a: [1, 2] },
    });
    expect(lines[0]).toBe(
      '2026-11-27T03:04:20.123Z ERROR e n=1.5 t=true z=null u=undefined big=12 at=2026-01-02T03:04:05.000Z err="TypeError: bad thing (E_BAD)" plain=oops obj="{\\"a\\":[1,2]}"\n',
    );
  });

  it('keeps a multi-line message on one line', () => {
    const { log, lines } = capture();
    log.info('first\nsecond');
    expect(lines[0]).toBe('2026-11-27T03:04:20.123Z INFO first\\nsecond\n');
  });

  it('puts child fields before the call fields', () => {
    const { log, lines } = capture();
    log.child({ protocol: 'mariadb' }).child({ client: 7 }).info('client error', { code: 'AUTH_FAILED' });
    expect(lines[0]).toBe('2026-11-27T03:04:20.123Z INFO client error protocol=mariadb client=7 code=AUTH_FAILED\n');
  });

  it('replaces characters a key cannot hold', () => {
    const { log, lines } = capture();
    log.info('k', { 'a b=c': 1 });
    expect(lines[0]).toBe('2026-11-27T03:04:20.123Z INFO k a_b_c=1\n');
  });
});

describe('createLogger, json format', () => {
  it('writes one object per line with time, level and msg first', () => {
    const { log, lines } = capture({ format: 'json' });
    log.info('listening', { protocol: 'mariadb', address: '127.0.0.1:41234' });
    expect(lines[0]).toBe(
      '{"time":"2026-11-27T03:04:20.123Z","level":"info","msg":"listening","protocol":"mariadb","address":"127.0.0.1:41234"}\n',
    );
  });

  it('serialises errors, bigints and cycles without throwing', () => {
    const { log, lines } = capture({ format: 'json' });
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic['self'] = cyclic;
    const shared = { x: 1 };
    log.error('boom', { error: new RangeError('too big'), n: 5n, cyclic, pair: [shared, shared] });
    const record = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(record['level']).toBe('error');
    expect(record['error']).toMatchObject({ name: 'RangeError', message: 'too big' });
    expect(typeof (record['error'] as { stack: unknown }).stack).toBe('string');
    expect(record['n']).toBe('5');
    expect(record['cyclic']).toEqual({ name: 'c', self: '[circular]' });
    expect(record['pair']).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it('does not let fields overwrite time, level or msg', () => {
    const { log, lines } = capture({ format: 'json' });
    log.info('real', { msg: 'fake', level: 'x' });
    const record = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(record['msg']).toBe('real');
    expect(record['level']).toBe('info');
    expect(record['field_msg']).toBe('fake');
    expect(record['field_level']).toBe('x');
  });
});

describe('log levels', () => {
  it('drops lines below the level', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['WARN', 'ERROR']);
  });

  it('reports isDebug only at debug level, for children too', () => {
    const debug = capture({ level: 'debug' }).log;
    const info = capture({ level: 'info' }).log;
    expect(debug.isDebug).toBe(true);
    expect(debug.child({ a: 1 }).isDebug).toBe(true);
    expect(info.isDebug).toBe(false);
    expect(info.child({ a: 1 }).isDebug).toBe(false);
  });

  it('changes level and format for existing children on reload', () => {
    const { log, lines } = capture({ level: 'info' });
    const child = log.child({ c: 1 });
    child.debug('hidden');
    log.setLevel('debug');
    log.setFormat('json');
    expect(child.isDebug).toBe(true);
    child.debug('shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'debug', msg: 'shown', c: 1 });
    expect(log.level).toBe('debug');
    expect(log.format).toBe('json');
  });
});

describe('logging never throws', () => {
  it('survives a field whose rendering throws', () => {
    const { log, lines } = capture({ format: 'json' });
    const hostile = {
      toJSON(): never {
        throw new Error('no');
      },
    };
    expect(() => log.info('still here', { hostile })).not.toThrow();
    expect(lines[0]).toContain('ERROR log line could not be formatted msg="still here"');
  });

  it('survives a writer that throws', () => {
    const log = createLogger({
      level: 'info',
      format: 'text',
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => log.error('x')).not.toThrow();
  });
});
