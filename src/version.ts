/**
 * The release version, kept equal to package.json's by a unit test. A
 * constant rather than an import of package.json, so the compiled binary
 * carries no file it would have to find at run time.
 */
export const VERSION = '0.1.0';

/** `tqdbproxy 0.1.0 (bun 1.4.4)`: what --version prints. */
export function versionLine(): string {
  return `tqdbproxy ${VERSION} (bun ${Bun.version})`;
}
