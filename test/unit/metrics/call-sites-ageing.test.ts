// Issue #10, finding 8: junk `file:` hints must not crowd out real call sites for good.
import { describe, expect, it } from 'bun:test';
import { CallSiteLabels, IDLE_TICKS_BEFORE_EVICTION } from '../../../src/metrics/call-sites.ts';
import { Metrics } from '../../../src/metrics/registry.ts';
import { parseStatement } from '../../../src/core/sql/index.ts';

const hintsOf = (sql: string) => {
  const st = parseStatement(sql, 'mysql');
  return { file: st.hints.file, warnings: st.hintWarnings };
};

describe('CallSiteLabels ageing', () => {
  it('gives a real site its own label once junk sites have been idle long enough', () => {
    const evicted: string[] = [];
    const sites = new CallSiteLabels(100, (site) => evicted.push(site.file));
    for (let i = 0; i < 120; i++) sites.resolve(`junk${i}.php`, i);
    expect(sites.resolve('legit.php', 7)).toBe(CallSiteLabels.OTHER);
    for (let t = 0; t < IDLE_TICKS_BEFORE_EVICTION; t++) sites.tick();
    const legit = sites.resolve('legit.php', 7);
    expect(legit.file).toBe('legit.php');
    expect(legit.line).toBe('7');
    expect(evicted).toHaveLength(1);
    expect(sites.size).toBe(100);
  });

  it('never evicts a site that is still in use', () => {
    const sites = new CallSiteLabels(2);
    sites.resolve('a.php', 1);
    sites.resolve('b.php', 2);
    for (let t = 0; t < IDLE_TICKS_BEFORE_EVICTION * 3; t++) {
      sites.tick();
      sites.resolve('a.php', 1);
      sites.resolve('b.php', 2);
    }
    expect(sites.resolve('c.php', 3)).toBe(CallSiteLabels.OTHER);
    expect(sites.resolve('a.php', 1).file).toBe('a.php');
  });

  it('drops an evicted site from /metrics and counts the new one under its own label', async () => {
    const metrics = new Metrics({ maxCallSites: 1, collectDefaultMetrics: false });
    metrics.observeQuery('mariadb', 'select', false, 'junk.php', 1, 0.001);
    for (let t = 0; t < IDLE_TICKS_BEFORE_EVICTION; t++) metrics.callSites.tick();
    metrics.observeQuery('mariadb', 'select', false, 'legit.php', 7, 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('file="legit.php",line="7"');
    expect(text).not.toContain('junk.php');
  });
});

describe('batch site ageing', () => {
  it('drops an idle batch site from /metrics so a new one gets its own label, while a busy one stays', async () => {
    const metrics = new Metrics({ maxCallSites: 2, collectDefaultMetrics: false });
    metrics.observeBatch('mariadb', 'junk.php:1', 3, 0.001);
    metrics.observeBatch('mariadb', 'busy.php:2', 3, 0.001);
    metrics.observeBatch('mariadb', 'legit.php:7', 3, 0.001);
    expect(await metrics.registry.metrics()).toContain('site="other"');
    for (let t = 0; t < IDLE_TICKS_BEFORE_EVICTION; t++) {
      metrics.ageLabels();
      metrics.observeBatchLatency('mariadb', 'busy.php:2', 0.001);
    }
    metrics.observeBatch('mariadb', 'legit.php:7', 3, 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('site="legit.php:7"');
    expect(text).toContain('site="busy.php:2"');
    expect(text).not.toContain('junk.php');
  });
});

describe('file: hint values', () => {
  it('rejects control characters, quotes and spaces with a warning, so they never become labels', () => {
    for (const junk of ['a\u001b[31m.php', 'a\u0000b', 'a"b', "x'y", 'a{b}']) {
      const hints = hintsOf(`/* file:${junk} line:1 */ SELECT 1`);
      expect(hints.file).toBeNull();
      expect(hints.warnings).toBeGreaterThan(0);
    }
  });

  it('accepts source paths of any script', () => {
    for (const ok of ['legit.php', 'src/app/user.go', 'C:\\src\\a.go', 'модуль.py', '@scope/pkg/index.ts']) {
      expect(hintsOf(`/* file:${ok} line:1 */ SELECT 1`).file).toBe(ok);
    }
  });
});
