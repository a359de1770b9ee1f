/**
 * SQL reader micro-benchmark: what `parseStatement` costs on the query hot
 * path, and what the lazy extras (batch key, cache text, tables, insert
 * shape) cost when a caller asks for them.
 *
 *   bun bench/parser.ts [--duration S] [--rounds N] [--warmup S] [--json]
 *
 * Statements of about 50, 200, 500 and 2000 bytes in both dialects; each row
 * cycles through its statements and reports CPU ns per statement (median of
 * the rounds, and the best round) and MB/s. A last table times unterminated and
 * repeated-opener inputs at 10k and 100k characters: a linear reader shows a
 * ratio near 10. Absolute figures only compare on the same machine.
 */
import { BenchArgError, parseBenchArgs, type BenchArgs } from './lib/args.ts';
import { machineInfo, writeResults } from './lib/results.ts';
import { renderTable, type Column } from './lib/table.ts';
import { parseStatement, type SqlDialect, type Statement } from '../src/core/sql/index.ts';

interface Sample {
  sql: string;
  dialect: SqlDialect;
}

interface Row {
  name: string;
  statements: number;
  meanBytes: number;
  medianNs: number;
  bestNs: number;
  mbPerSecond: number;
  statementsPerSecond: number;
}

const HINT = '/* ttl:60 file:handlers/user_profile.go line:142 */ ';

function padTo(sql: string, bytes: number, filler: (i: number) => string): string {
  let out = sql;
  for (let i = 0; out.length < bytes; i++) out += filler(i);
  return out;
}

/** About 50 bytes: point lookups and small writes. */
const SMALL: Sample[] = [
  { dialect: 'mysql', sql: 'SELECT id, name FROM users WHERE id = 42 LIMIT 1' },
  { dialect: 'mysql', sql: "UPDATE sessions SET seen_at = NOW() WHERE id = 'a9'" },
  { dialect: 'postgres', sql: 'SELECT id, email FROM accounts WHERE id = $1' },
  { dialect: 'postgres', sql: 'INSERT INTO events (kind, at) VALUES ($1, $2)' },
];

/** About 200 bytes: the typical statement, hinted. */
const TYPICAL: Sample[] = [
  {
    dialect: 'mysql',
    sql: `${HINT}SELECT u.id, u.name, u.email, p.title FROM users u JOIN posts p ON p.user_id = u.id WHERE u.id = ? AND p.status = 'published' ORDER BY p.created_at DESC LIMIT 20`,
  },
  {
    dialect: 'mysql',
    sql: "/* batch:10 file:events/writer.go line:88 */ INSERT INTO event_log (account_id, kind, payload, created_at) VALUES (123456, 'page_view', '{\"path\":\"/home\",\"ref\":\"search\"}', '2026-11-27 03:04:05')",
  },
  {
    dialect: 'postgres',
    sql: `${HINT}SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > $1 AND o.status = ANY($2) ORDER BY o.created_at DESC LIMIT 50`,
  },
  {
    dialect: 'postgres',
    sql: "/* file:billing/invoice.go line:311 */ UPDATE invoices SET status = 'paid', paid_at = now(), amount_cents = amount_cents - $1 WHERE id = $2 AND tenant_id = $3 RETURNING id, status",
  },
];

/** About 500 bytes: reporting queries and wide writes. */
const MEDIUM: Sample[] = [
  {
    dialect: 'mysql',
    sql: padTo(
      `${HINT}SELECT a.id, a.name, COUNT(o.id) AS orders, SUM(o.total) AS revenue FROM accounts a LEFT JOIN orders o ON o.account_id = a.id AND o.status IN ('paid', 'shipped') WHERE a.region = ? AND a.created_at BETWEEN ? AND ?`,
      480,
      (i) => ` AND a.flag_${i} = ${i}`,
    ) + ' GROUP BY a.id, a.name ORDER BY revenue DESC LIMIT 100',
  },
  {
    dialect: 'postgres',
    sql: padTo('INSERT INTO audit (actor, action, target, detail, at) VALUES ($1, $2, $3, $4, $5)', 480, (i) => `, ($${6 + i * 5}, 'x', 'y', '{}', now())`),
  },
];

/** About 2000 bytes: multi-row inserts and long generated queries. */
const LARGE: Sample[] = [
  {
    dialect: 'mysql',
    sql: padTo('INSERT INTO metrics (host, name, value, at) VALUES ', 2000, (i) => `${i === 0 ? '' : ', '}('web-${i}', 'cpu.load', ${i}.25, '2026-11-27 03:04:${i % 60}')`),
  },
  {
    dialect: 'postgres',
    sql: padTo(`${HINT}SELECT id, name, price FROM products WHERE category = $1 AND id IN (`, 1990, (i) => `${i === 0 ? '' : ', '}${100000 + i}`) + ')',
  },
];

const MIX: Sample[] = [...SMALL, ...TYPICAL, ...MEDIUM, ...LARGE];

const WRITES: Sample[] = MIX.filter((s) => parseStatement(s.sql, s.dialect).isWritable());
const CACHEABLE: Sample[] = MIX.filter((s) => parseStatement(s.sql, s.dialect).isCacheable());
const INSERTS: Sample[] = MIX.filter((s) => parseStatement(s.sql, s.dialect).kind === 'insert');

type Work = (statement: Statement) => number;

const parseOnly: Work = (st) => st.kind.length;
const withBatchKey: Work = (st) => st.batchKey().length;
const withCacheText: Work = (st) => st.cacheText().length;
const withTables: Work = (st) => st.tables.read.length + st.tables.written.length;
const withInsertShape: Work = (st) => st.insertShape?.rowCount ?? 0;

/** CPU time of this process in ns (user + system). */
function cpuNs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1e3;
}

/**
 * Runs `work` over `samples` in a loop for `seconds` of wall time; returns CPU
 * ns per statement. CPU time rather than wall time: on a shared machine the
 * process is descheduled at random, and CPU time is what the proxy pays.
 */
function measure(samples: Sample[], work: Work, seconds: number): number {
  const deadline = Bun.nanoseconds() + seconds * 1e9;
  const start = cpuNs();
  let count = 0;
  let sink = 0;
  while (Bun.nanoseconds() < deadline) {
    for (let i = 0; i < 1000; i++) {
      const sample = samples[i % samples.length] as Sample;
      sink += work(parseStatement(sample.sql, sample.dialect));
    }
    count += 1000;
  }
  const elapsed = cpuNs() - start;
  if (sink === -1) console.error('unreachable');
  return elapsed / count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function row(name: string, samples: Sample[], work: Work, args: BenchArgs): Row {
  measure(samples, work, args.warmupSeconds);
  const perRound = args.durationSeconds / args.rounds;
  const rounds: number[] = [];
  for (let r = 0; r < args.rounds; r++) rounds.push(measure(samples, work, perRound));
  const meanBytes = samples.reduce((n, s) => n + s.sql.length, 0) / samples.length;
  const medianNs = median(rounds);
  return {
    name,
    statements: samples.length,
    meanBytes: Math.round(meanBytes),
    medianNs,
    bestNs: Math.min(...rounds),
    mbPerSecond: (meanBytes / medianNs) * 1e3,
    statementsPerSecond: 1e9 / medianNs,
  };
}

/** Inputs built to trip quadratic behaviour (as in the fuzz test). */
const PATHOLOGICAL: { name: string; build: (n: number) => string }[] = [
  { name: "unterminated ' x n", build: (n) => "'".repeat(n) },
  { name: '/* x n/2', build: (n) => '/*'.repeat(n / 2) },
  { name: '-- x n/2', build: (n) => '--'.repeat(n / 2) },
  { name: '$a x n/2 (postgres)', build: (n) => '$a$' + '$a'.repeat(n / 2) },
  { name: '( x n', build: (n) => '('.repeat(n) },
  { name: 'WITH a AS ( ...', build: (n) => 'WITH a AS ('.repeat(n / 11) },
  { name: '/* ttl:1 ... (hints)', build: (n) => '/* ttl:1 '.repeat(n / 9) },
];

interface LinearRow {
  name: string;
  ns10k: number;
  ns100k: number;
  ratio: number;
}

function timeAll(sql: string, dialect: SqlDialect): number {
  const start = cpuNs();
  const st = parseStatement(sql, dialect);
  st.batchKey();
  st.cacheText();
  void st.tables;
  void st.insertShape;
  return cpuNs() - start;
}

function linearRow(name: string, build: (n: number) => string): LinearRow {
  const dialect: SqlDialect = name.includes('postgres') ? 'postgres' : 'mysql';
  const small = build(10_000);
  const large = build(100_000);
  const best = (sql: string): number => {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 7; i++) min = Math.min(min, timeAll(sql, dialect));
    return min;
  };
  best(small);
  const ns10k = best(small);
  const ns100k = best(large);
  return { name, ns10k, ns100k, ratio: ns100k / ns10k };
}

const ROW_COLUMNS: Column[] = [
  { header: 'case', align: 'left' },
  { header: 'stmts' },
  { header: 'bytes' },
  { header: 'cpu ns/stmt (median)' },
  { header: 'cpu ns/stmt (best)' },
  { header: 'MB/s', decimals: 1 },
  { header: 'stmts/s' },
];

const LINEAR_COLUMNS: Column[] = [
  { header: 'pathological input (all passes)', align: 'left' },
  { header: '10k chars cpu µs', decimals: 1 },
  { header: '100k chars cpu µs', decimals: 1 },
  { header: '100k/10k', decimals: 1 },
];

function main(): void {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2), { durationSeconds: 1, warmupSeconds: 0.3, rounds: 5 });
  } catch (error) {
    if (error instanceof BenchArgError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = args.isJson ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  const startedAt = new Date();
  log(`bench/parser.ts: ${args.durationSeconds}s per row in ${args.rounds} rounds, ${args.warmupSeconds}s warm-up`);

  const rows: Row[] = [
    row('parse ~50 B', SMALL, parseOnly, args),
    row('parse ~200 B (typical)', TYPICAL, parseOnly, args),
    row('parse ~500 B', MEDIUM, parseOnly, args),
    row('parse ~2000 B', LARGE, parseOnly, args),
    row('parse mix 50-2000 B', MIX, parseOnly, args),
    row('parse + batchKey (writes)', WRITES, withBatchKey, args),
    row('parse + cacheText (cacheable)', CACHEABLE, withCacheText, args),
    row('parse + tables (mix)', MIX, withTables, args),
    row('parse + insertShape (inserts)', INSERTS, withInsertShape, args),
  ];
  log('');
  log(
    renderTable(
      ROW_COLUMNS,
      rows.map((r) => [r.name, r.statements, r.meanBytes, Math.round(r.medianNs), Math.round(r.bestNs), r.mbPerSecond, Math.round(r.statementsPerSecond)]),
    ),
  );

  const linear = PATHOLOGICAL.map(({ name, build }) => linearRow(name, build));
  log('');
  log(renderTable(LINEAR_COLUMNS, linear.map((r) => [r.name, r.ns10k / 1e3, r.ns100k / 1e3, r.ratio])));

  const typical = rows[1] as Row;
  log('');
  log(`typical ~200 B statement: ${Math.round(typical.medianNs)} ns (target < 2000 ns, i.e. >= 500k statements/s on one core)`);

  const document = { bench: 'parser', startedAt: startedAt.toISOString(), machine: machineInfo(), args, rows, linear };
  const path = writeResults('parser', document, startedAt);
  log(`results: ${path}`);
  if (args.isJson) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

main();
