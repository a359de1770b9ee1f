// The one place that knows Bun socket semantics beyond write/end.
import type { Socket } from 'bun';

/**
 * Bun's TCP sockets have pause()/resume() at runtime (they stop reading, so
 * the peer sees TCP backpressure) but bun-types does not declare them yet.
 */
interface Pausable {
  pause(): boolean;
  resume(): boolean;
}

export function pauseReading(socket: Socket<unknown>): void {
  (socket as unknown as Pausable).pause();
}

export function resumeReading(socket: Socket<unknown>): void {
  (socket as unknown as Pausable).resume();
}
