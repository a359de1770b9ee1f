/**
 * One re-armable timer owned by one connection: the phase deadlines (backend
 * connect + greeting, then login). Arming replaces the previous deadline, so a
 * connection never has two racing.
 */
export class Deadline {
  private timer: ReturnType<typeof setTimeout> | null = null;

  arm(ms: number, onExpired: () => void): void {
    this.clear();
    this.timer = setTimeout(() => {
      this.timer = null;
      onExpired();
    }, ms);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  get isArmed(): boolean {
    return this.timer !== null;
  }
}
