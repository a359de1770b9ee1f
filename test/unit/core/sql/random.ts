/**
 * Seeded randomness for the property and fuzz tests of core/sql.
 * Set SQL_TEST_SEED to replay a failure; the seed is printed when a check fails.
 */

/** mulberry32: small, fast, and good enough to drive test inputs. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.nextUint32() % n;
  }

  chance(probability: number): boolean {
    return this.nextUint32() / 0x1_0000_0000 < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** The seed for this run: SQL_TEST_SEED when set, else a fresh random one. */
export function testSeed(): number {
  const fromEnv = process.env.SQL_TEST_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** Runs `body` with a seeded PRNG; on failure, prints the seed and the way to replay it. */
export function withSeed(name: string, body: (random: Prng) => void): void {
  const seed = testSeed();
  try {
    body(new Prng(seed));
  } catch (error) {
    console.error(`${name} failed with seed ${seed}; replay with SQL_TEST_SEED=${seed}`);
    throw error;
  }
}
