/**
 * One sysbench `run` as a bench slot: the CPU window opens when sysbench
 * prints "Threads started!" (its threads have connected and prepared their
 * statements, and its timer starts), so connection set-up is not counted as
 * work per write, and closes when sysbench exits.
 *
 * A run that hits an error sysbench does not ignore ends with FATAL lines and
 * no summary. That is a result, not an exception: the slot carries the
 * error text and the number of threads that died, and the bench goes on.
 */
import {
  histogramPercentile,
  parseSysbenchSummary,
  sysbenchArgv,
  type SysbenchOptions,
  type SysbenchSummary,
  type SysbenchTest,
} from '../../test/support/sysbench.ts';

export interface SysbenchSlotHooks {
  /** Called once the threads have started (or at exit, if they never did). */
  onStart(): void;
  /** Called once sysbench has exited. */
  onStop(): void;
}

export interface SysbenchSlot {
  code: number;
  /** Parsed end-of-run report; undefined when sysbench printed none (a FATAL run). */
  summary: SysbenchSummary | undefined;
  /** Statements that failed fatally (each kills one sysbench thread). */
  fatalErrors: number;
  /** The first FATAL line, or why the run failed; undefined for a clean run. */
  failure: string | undefined;
}

/** Lines like `FATAL: mysql_stmt_execute() returned error 1210 (...) for query '...'`, one per failed statement. */
const FATAL_STATEMENT = /^FATAL: .*returned error .*$/;
/** sysbench's log squashes repeats: `(last message repeated 3 times)`. */
const REPEATED = /^\(last message repeated (\d+) times\)$/;

/**
 * Runs `sysbench <test> ... run`; never rejects for sysbench's own failures.
 * `commandPrefix` goes before `sysbench` (e.g. `prlimit --nofile=N:N --`).
 */
export async function runSysbenchSlot(
  test: SysbenchTest,
  options: SysbenchOptions,
  hooks: SysbenchSlotHooks,
  commandPrefix: string[] = [],
): Promise<SysbenchSlot> {
  const argv = [...commandPrefix, ...sysbenchArgv(test, 'run', options)];
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const timeoutMs = options.timeoutMs ?? ((options.timeSeconds ?? 10) + 60) * 1000;
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  let isStarted = false;
  const readStdout = async (): Promise<string> => {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of proc.stdout) {
      text += decoder.decode(chunk, { stream: true });
      if (!isStarted && text.includes('Threads started!')) {
        isStarted = true;
        hooks.onStart();
      }
    }
    return text;
  };
  try {
    const [stdout, stderr, code] = await Promise.all([readStdout(), new Response(proc.stderr).text(), proc.exited]);
    if (!isStarted) hooks.onStart();
    hooks.onStop();
    const output = `${stdout}\n${stderr}`;
    const { fatalErrors, firstFatal } = countFatalStatements(output);
    let summary: SysbenchSummary | undefined;
    let parseError: string | undefined;
    try {
      summary = parseSysbenchSummary(stdout);
    } catch (error) {
      parseError = error instanceof Error ? error.message : String(error);
    }
    let failure: string | undefined;
    if (isTimedOut) failure = `killed after ${timeoutMs} ms`;
    else if (firstFatal !== undefined) failure = firstFatal;
    else if (code !== 0) failure = `sysbench exited with code ${code}: ${lastLine(output)}`;
    else if (summary === undefined) failure = `${parseError ?? 'no summary'}: ${lastLine(output)}`;
    return { code, summary, fatalErrors: Math.max(fatalErrors, failure === undefined ? 0 : 1), failure };
  } finally {
    clearTimeout(timer);
  }
}

/** Statements that failed fatally in sysbench's output (repeats squashed by its log included), and the first FATAL line. */
export function countFatalStatements(output: string): { fatalErrors: number; firstFatal: string | undefined } {
  let fatalErrors = 0;
  let firstFatal: string | undefined;
  let isLastFatal = false;
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    const repeated = REPEATED.exec(trimmed);
    if (repeated !== null) {
      if (isLastFatal) fatalErrors += Number(repeated[1]);
      continue;
    }
    isLastFatal = FATAL_STATEMENT.test(trimmed);
    if (isLastFatal) fatalErrors++;
    if (firstFatal === undefined && trimmed.startsWith('FATAL:')) firstFatal = trimmed.slice('FATAL: '.length);
  }
  return { fatalErrors, firstFatal };
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines[lines.length - 1] ?? '(no output)';
}

/** p50 and p99 over several runs' `--histogram` buckets (the bucket grid is the same in every run). */
export function mergedPercentiles(histograms: Array<SysbenchSummary['histogram']>): { p50Ms: number; p99Ms: number } {
  const buckets = histograms.flatMap((h) => h ?? []).sort((a, b) => a.valueMs - b.valueMs);
  return { p50Ms: histogramPercentile(buckets, 50), p99Ms: histogramPercentile(buckets, 99) };
}
