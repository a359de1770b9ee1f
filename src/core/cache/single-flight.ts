/**
 * Cold-miss coalescing: the first request for a key leads and queries the
 * database; identical requests meanwhile wait for its result, each for at
 * most `waitTimeoutMs`. A failed or timed-out lead gives every waiter `null`,
 * and each then runs its own query: errors are never shared.
 */
type Waiter<T> = (value: T | null) => void;

interface Flight<T> {
  waiters: Set<Waiter<T>>;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** True when the caller leads (must later call `settle`); false when a flight is already in the air. */
  lead(key: string): boolean {
    if (this.flights.has(key)) return false;
    this.flights.set(key, { waiters: new Set() });
    return true;
  }

  /**
   * Waits for the leader of `key`. Resolves with its value, or with null on
   * failure or timeout. Returns null at once when nobody leads.
   */
  wait(key: string, waitTimeoutMs: number): Promise<T | null> | null {
    const flight = this.flights.get(key);
    if (flight === undefined) return null;
    return new Promise((resolve) => {
      const waiter: Waiter<T> = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        flight.waiters.delete(waiter);
        resolve(null);
      }, waitTimeoutMs);
      flight.waiters.add(waiter);
    });
  }

  /** Ends the flight: waiters get `value` (null when the leader failed). Returns how many waited. */
  settle(key: string, value: T | null): number {
    const flight = this.flights.get(key);
    if (flight === undefined) return 0;
    this.flights.delete(key);
    for (const waiter of flight.waiters) waiter(value);
    return flight.waiters.size;
  }

  get inFlight(): number {
    return this.flights.size;
  }
}
