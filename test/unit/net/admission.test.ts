// Issue #10, findings 1 and 5: caps on clients and on clients not yet logged in.
import { describe, expect, it } from 'bun:test';
import { ClientAdmission } from '../../../src/net/admission.ts';
import { clientsForLimit, openFileLimit, raiseOpenFileLimit } from '../../../src/net/fd-limit.ts';

describe('net/admission', () => {
  it('refuses past max_pending_handshakes until one logs in or leaves', () => {
    const admission = new ClientAdmission(() => ({ maxClients: 0, maxPendingHandshakes: 2 }));
    const a = admission.admit();
    const b = admission.admit();
    expect(admission.admit()).toBe('handshakes');
    if (typeof a === 'string' || typeof b === 'string') throw new Error('admitted expected');
    a.authenticated();
    const c = admission.admit();
    expect(typeof c).toBe('object');
    b.release();
    b.release(); // idempotent
    expect(admission.pendingHandshakes).toBe(1);
    expect(admission.openClients).toBe(2);
  });

  it('refuses past max_client_connections, logged in or not', () => {
    const admission = new ClientAdmission(() => ({ maxClients: 1, maxPendingHandshakes: 10 }));
    const a = admission.admit();
    if (typeof a === 'string') throw new Error('admitted expected');
    a.authenticated();
    expect(admission.admit()).toBe('clients');
    a.release();
    expect(typeof admission.admit()).toBe('object');
  });
});

describe('net/fd-limit', () => {
  it('reads RLIMIT_NOFILE through libc and keeps the soft limit at the hard one after raising', () => {
    const raised = raiseOpenFileLimit();
    if (process.platform !== 'linux') return;
    expect(raised).not.toBeNull();
    const now = openFileLimit()!;
    expect(now.soft).toBe(now.hard);
  });

  it('derives the automatic client cap from the limit: two descriptors per client, some kept free', () => {
    expect(clientsForLimit({ soft: 128, hard: 128 })).toBe(32);
    expect(clientsForLimit({ soft: 1024, hard: 4096 })).toBe(480);
    expect(clientsForLimit(null)).toBe(0);
  });
});
