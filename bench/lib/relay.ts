/**
 * Starts bench/lib/bare-relay.ts in its own process, so the relay does not
 * share the load generator's thread. The relay is the floor for any
 * Bun-native hop on this machine: single-connection cells are read against
 * it rather than against direct.
 */
import { armWatchdog } from '../../test/support/process.ts';

export interface BareRelay {
  host: string;
  port: number;
  pid: number;
  stop(): void;
}

/** `commandPrefix` runs before `bun`, e.g. `prlimit --nofile=N:N --` for many connections. */
export async function startBareRelay(backend: { host: string; port: number }, commandPrefix: string[] = []): Promise<BareRelay> {
  const proc = Bun.spawn([...commandPrefix, 'bun', `${import.meta.dir}/bare-relay.ts`, '0', backend.host, String(backend.port)], {
    stdout: 'pipe',
    stderr: 'inherit',
  });
  // An interrupted bench must not leave the relay running.
  const watchdog = armWatchdog(proc.pid);
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let match: RegExpExecArray | null = null;
  while ((match = /listening (\d+)/.exec(text)) === null) {
    const { value, done } = await reader.read();
    if (done) {
      watchdog.disarm();
      throw new Error('bare relay exited before listening');
    }
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return {
    host: '127.0.0.1',
    port: Number(match[1]),
    pid: proc.pid,
    stop: () => {
      proc.kill();
      watchdog.disarm();
    },
  };
}
