// Graceful stop of one front end's clients, the same for every protocol.
import type { BatchManager, BatchMember } from './core/batch/batch-manager.ts';

/**
 * Sends every queued batched write now, so its client gets its result
 * before anything closes; then lets commands in flight finish, closing each
 * client as it goes idle, until `timeoutMs` has passed since the call; then
 * closes the rest. `close` is the protocol's way to end a client.
 */
export async function drainThenClose<C extends { readonly isIdle: boolean }>(
  managers: readonly BatchManager<BatchMember>[],
  clients: ReadonlySet<C>,
  timeoutMs: number,
  close: (client: C) => void,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  await Promise.race([Promise.all(managers.map((m) => m.drain())), Bun.sleep(timeoutMs)]);
  while (performance.now() < deadline) {
    for (const client of clients) if (client.isIdle) close(client);
    if (clients.size === 0) break;
    await Bun.sleep(10);
  }
  for (const client of clients) close(client);
}
