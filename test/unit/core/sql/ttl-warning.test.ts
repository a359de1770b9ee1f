import { describe, expect, it } from 'bun:test';
import { parseStatement, TtlOnWriteWarner } from '../../../../src/core/sql/index.ts';

function setup(options: { maxLogsPerInterval?: number; maxSites?: number } = {}) {
  const lines: string[] = [];
  const clock = { nowMs: 0 };
  let warnings = 0;
  const warner = new TtlOnWriteWarner({
    log: (message) => lines.push(message),
    now: () => clock.nowMs,
    onWarn: () => warnings++,
    intervalMs: 1000,
    ...options,
  });
  return { warner, lines, clock, warnings: () => warnings };
}

const write = (site: string): ReturnType<typeof parseStatement> =>
  parseStatement(`/* ttl:60 ${site} */ UPDATE t SET a = 1 WHERE id = 2`, 'mysql');

describe('core/sql TtlOnWriteWarner', () => {
  it('ignores statements without a ttl hint on a write', () => {
    const { warner, lines, warnings } = setup();
    expect(warner.check(parseStatement('/* ttl:60 */ SELECT 1', 'mysql'))).toBe(false);
    expect(warner.check(parseStatement('UPDATE t SET a = 1', 'mysql'))).toBe(false);
    expect(lines).toEqual([]);
    expect(warnings()).toBe(0);
  });

  it('logs a call site once but counts every occurrence', () => {
    const { warner, lines, warnings } = setup();
    for (let i = 0; i < 5; i++) expect(warner.check(write('file:user.go line:42'))).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('user.go:42');
    expect(lines[0]).toContain('update');
    expect(warnings()).toBe(5);
  });

  it('uses the statement template as the call site when there is no file hint', () => {
    const { warner, lines } = setup();
    warner.check(parseStatement('/* ttl:5 */ DELETE FROM t WHERE id = 1', 'mysql'));
    warner.check(parseStatement('/* ttl:5 */ DELETE FROM t WHERE id = 2', 'mysql'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DELETE FROM t WHERE id=?');
  });

  it('caps log lines per interval and reports how many it held back', () => {
    const { warner, lines, clock, warnings } = setup({ maxLogsPerInterval: 2 });
    for (let i = 0; i < 5; i++) warner.check(write(`file:f${i}.go`));
    expect(lines).toHaveLength(2);
    expect(warnings()).toBe(5);
    clock.nowMs += 1000;
    warner.check(write('file:f2.go'));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('f2.go');
    expect(lines[2]).toContain('3 more not logged');
  });

  it('forgets the oldest call sites beyond its bound', () => {
    const { warner, lines, clock } = setup({ maxSites: 2 });
    warner.check(write('file:a.go'));
    warner.check(write('file:b.go'));
    warner.check(write('file:c.go'));
    clock.nowMs += 1000;
    warner.check(write('file:a.go'));
    expect(lines).toHaveLength(4);
  });
});
