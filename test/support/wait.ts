/**
 * Polling with a deadline: the only way tests and harness helpers wait for
 * something that has no event to await (STYLE.md §9: never sleep a fixed time).
 */

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs?: number;
  /** Pause between attempts. */
  intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  description?: string;
  /** Rejecting this (e.g. "the process exited") ends the wait at once. */
  abort?: Promise<never>;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`, and
 * resolves with that value. A probe that throws counts as "not yet"; the last
 * error is quoted when the deadline passes.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  let aborted: unknown;
  let isAborted = false;
  options.abort?.catch((error: unknown) => {
    isAborted = true;
    aborted = error;
  });
  for (;;) {
    if (isAborted) throw aborted;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (isAborted) throw aborted;
    if (performance.now() >= deadline) {
      const what = options.description ?? 'condition';
      const detail = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await Bun.sleep(intervalMs);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
