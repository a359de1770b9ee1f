// Issue #10, finding 5: running out of descriptors is named as such, not as a backend outage.
import { describe, expect, it } from 'bun:test';
import { connectFailure } from '../../../src/net/connect-failure.ts';

describe('net/connect-failure', () => {
  it('names EMFILE and the open-file limit, with the too-many-connections code', () => {
    const error = connectFailure('127.0.0.1:3306', Object.assign(new Error('Failed to connect'), { code: 'EMFILE' }));
    expect(error.code).toBe('TOO_MANY_CONNECTIONS');
    expect(error.message).toContain('out of file descriptors (EMFILE');
    expect(error.message).not.toContain('cannot connect to backend');
  });

  it('names the backend and the system reason for an ordinary refusal', () => {
    const error = connectFailure('127.0.0.1:1', Object.assign(new Error('Failed to connect'), { code: 'ECONNREFUSED' }));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toBe('cannot connect to backend 127.0.0.1:1: Failed to connect (ECONNREFUSED)');
  });
});
