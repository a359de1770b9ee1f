/**
 * Scratch directories for throwaway servers and proxy configs.
 *
 * Databases start much faster on tmpfs (install and first writes never touch a
 * disk), so /dev/shm is preferred when it is writable. `TQDB_TEST_TMPDIR`
 * overrides the choice, e.g. for a machine with a tiny /dev/shm.
 */
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cachedRoot: string | undefined;

export function scratchRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const fromEnv = process.env.TQDB_TEST_TMPDIR;
  if (fromEnv !== undefined && fromEnv !== '') {
    cachedRoot = fromEnv;
  } else if (isWritableDir('/dev/shm')) {
    cachedRoot = '/dev/shm';
  } else {
    cachedRoot = tmpdir();
  }
  return cachedRoot;
}

/** Creates `<scratchRoot>/<prefix>XXXXXX` and returns its path. */
export function makeScratchDir(prefix: string): string {
  return mkdtempSync(join(scratchRoot(), prefix));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export function removeDirSync(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 3 });
}

function isWritableDir(path: string): boolean {
  try {
    if (!statSync(path).isDirectory()) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
