// Issue #10, finding 8: client text with control characters never reaches a log line raw.
import { describe, expect, it } from 'bun:test';
import { createLogger, escapeControl } from '../../src/log.ts';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

function lineOf(format: 'text' | 'json', msg: string, fields: Record<string, unknown>): string {
  let out = '';
  const log = createLogger({ level: 'debug', format, write: (l) => (out += l), now: () => new Date(0) });
  log.warn(msg, fields);
  return out;
}

describe('log escaping', () => {
  const hostile = 'SELECT 1 /* \u001b[2J\u001b[31m */ \u009b31m \u007f \u2028 fake\nINFO forged';
  for (const format of ['text', 'json'] as const) {
    it(`writes ESC, CSI, DEL, newlines and U+2028 as visible escapes in a ${format} message and field`, () => {
      const line = lineOf(format, `ttl on write: ${hostile}`, { sql: hostile });
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toMatch(RAW_CONTROL);
      expect(line.split('\n')).toHaveLength(2);
      expect(line).toContain('\\u001b[2J');
      expect(line).toContain('\\u009b');
    });
  }

  it('keeps JSON lines parseable and the value recoverable', () => {
    const line = lineOf('json', 'm', { sql: hostile });
    expect(JSON.parse(line).sql).toBe(hostile);
  });

  it('leaves ordinary text alone', () => {
    expect(escapeControl('SELECT * FROM t WHERE a = "x\\y"')).toBe('SELECT * FROM t WHERE a = "x\\y"');
  });
});
