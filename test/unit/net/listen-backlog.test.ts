import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { deepenListenBacklog } from '../../../src/net/listen-backlog.ts';

/** The accept-queue depth the kernel reports for a listening port (ss's Send-Q), or null without ss. */
function backlogOf(port: number): number | null {
  if (Bun.which('ss') === null) return null;
  const out = Bun.spawnSync(['ss', '-Hltn', `sport = :${port}`]).stdout.toString().trim();
  const fields = out.split(/\s+/);
  return fields.length >= 3 ? Number(fields[2]) : null;
}

describe('deepenListenBacklog', () => {
  it.skipIf(process.platform !== 'linux' || Bun.which('ss') === null)('raises a Bun listener\'s accept queue from 512 to net.core.somaxconn', () => {
    const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      expect(backlogOf(listener.port)).toBe(512);
      expect(deepenListenBacklog(listener.port)).toBe(true);
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
      expect(backlogOf(listener.port)).toBe(Math.min(somaxconn, 65535));
    } finally {
      listener.stop(true);
    }
  });

  it('answers false for a port nothing listens on', () => {
    expect(deepenListenBacklog(1)).toBe(false);
  });
});
