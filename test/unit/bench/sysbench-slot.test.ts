import { describe, expect, it } from 'bun:test';
import { countFatalStatements, mergedPercentiles } from '../../../bench/lib/sysbench-slot.ts';
import { MetricsSnapshot, labelDeltas } from '../../../bench/lib/metrics.ts';
import { parseExposition } from '../../support/prometheus.ts';

// What sysbench 1.0.20 printed when batched prepared writes failed through the proxy (issue #8).
const FATAL_OUTPUT = `Threads started!

FATAL: mysql_stmt_execute() returned error 1210 (Incorrect arguments to mysqld_stmt_execute) for query 'UPDATE sbtest2 SET k=k+1 WHERE id=?'
FATAL: \`thread_run' function failed: /usr/share/sysbench/oltp_common.lua:458: SQL error, errno = 1210, state = 'HY000': Incorrect arguments to mysqld_stmt_execute
FATAL: mysql_stmt_execute() returned error 1210 (Incorrect arguments to mysqld_stmt_execute) for query 'UPDATE sbtest1 SET k=k+1 WHERE id=?'
(last message repeated 2 times)
FATAL: \`thread_run' function failed: /usr/share/sysbench/oltp_common.lua:458: SQL error, errno = 1210, state = 'HY000': Incorrect arguments to mysqld_stmt_execute
`;

describe('countFatalStatements', () => {
  it('counts each failed statement, including the repeats sysbench squashes', () => {
    expect(countFatalStatements(FATAL_OUTPUT).fatalErrors).toBe(4);
  });

  it('reports the first FATAL line without its prefix', () => {
    expect(countFatalStatements(FATAL_OUTPUT).firstFatal).toBe(
      "mysql_stmt_execute() returned error 1210 (Incorrect arguments to mysqld_stmt_execute) for query 'UPDATE sbtest2 SET k=k+1 WHERE id=?'",
    );
  });

  it('does not count a repeat line that follows a non-statement FATAL line', () => {
    const output = "FATAL: `thread_run' function failed: x\n(last message repeated 5 times)\n";
    expect(countFatalStatements(output)).toEqual({ fatalErrors: 0, firstFatal: "`thread_run' function failed: x" });
  });

  it('finds nothing in a clean run', () => {
    expect(countFatalStatements('Threads started!\n\nSQL statistics:\n')).toEqual({ fatalErrors: 0, firstFatal: undefined });
  });
});

describe('mergedPercentiles', () => {
  it('reads p50 and p99 over the buckets of several runs together', () => {
    const first = [{ valueMs: 1, count: 60 }];
    const second = [
      { valueMs: 2, count: 39 },
      { valueMs: 50, count: 1 },
    ];
    expect(mergedPercentiles([first, second])).toEqual({ p50Ms: 1, p99Ms: 2 });
    expect(mergedPercentiles([second, undefined])).toEqual({ p50Ms: 2, p99Ms: 50 });
  });
});

describe('labelDeltas', () => {
  const snapshot = (text: string): MetricsSnapshot => new MetricsSnapshot(parseExposition(text));

  it('gives the change of each label value, leaving out values that did not move and counting new ones from 0', () => {
    const before = snapshot('# TYPE m counter\nm{method="transaction"} 5\nm{method="multi_row_insert"} 2\n');
    const after = snapshot('# TYPE m counter\nm{method="transaction"} 9\nm{method="multi_row_insert"} 2\nm{method="pass_through"} 3\n');
    expect(labelDeltas(before, after, 'm', 'method')).toEqual({ transaction: 4, pass_through: 3 });
  });
});
