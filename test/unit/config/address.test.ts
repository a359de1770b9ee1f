import { describe, expect, it } from 'bun:test';
import { listenAddressesOverlap, parseAddress } from '../../../src/config/address.ts';

describe('parseAddress', () => {
  it('reads host:port', () => {
    expect(parseAddress('127.0.0.1:3306', 'backend')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3306, text: '127.0.0.1:3306' });
    expect(parseAddress('db-1.example.com:3306', 'backend')?.text).toBe('db-1.example.com:3306');
  });

  it('reads :port as all interfaces for listeners only', () => {
    expect(parseAddress(':3307', 'listen')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 3307, text: '0.0.0.0:3307' });
    expect(parseAddress(':3307', 'backend')).toBeNull();
  });

  it('reads bracketed IPv6 and writes it back bracketed', () => {
    expect(parseAddress('[::1]:3307', 'listen')).toEqual({ kind: 'tcp', host: '::1', port: 3307, text: '[::1]:3307' });
    expect(parseAddress('[fe80::1%eth0]:3306', 'backend')).toMatchObject({ host: 'fe80::1%eth0' });
  });

  it('reads unix:/path', () => {
    expect(parseAddress('unix:/run/mysqld/mysqld.sock', 'backend')).toEqual({
      kind: 'unix',
      path: '/run/mysqld/mysqld.sock',
      text: 'unix:/run/mysqld/mysqld.sock',
    });
  });

  it('accepts port 0 for listeners and rejects it for backends', () => {
    expect(parseAddress('127.0.0.1:0', 'listen')).toMatchObject({ port: 0 });
    expect(parseAddress('127.0.0.1:0', 'backend')).toBeNull();
  });

  it('accepts the port bounds and rejects what lies beyond', () => {
    expect(parseAddress('h:1', 'backend')).toMatchObject({ port: 1 });
    expect(parseAddress('h:65535', 'backend')).toMatchObject({ port: 65535 });
    expect(parseAddress('h:65536', 'backend')).toBeNull();
    expect(parseAddress(':99999', 'listen')).toBeNull();
  });

  for (const bad of ['', 'localhost', 'host:', 'host:http', 'host:-1', 'host:+1', 'host:1.5', '::1:3306', '[::1]3306', '[::1]:', '[nothost]:1', 'unix:', 'ho st:1', '-host:1', 'host:123456']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(parseAddress(bad, 'listen')).toBeNull();
    });
  }
});

describe('listenAddressesOverlap', () => {
  const tcp = (text: string) => parseAddress(text, 'listen') as NonNullable<ReturnType<typeof parseAddress>>;

  it('finds the same host and port', () => {
    expect(listenAddressesOverlap(tcp('127.0.0.1:3307'), tcp('127.0.0.1:3307'))).toBe(true);
  });

  it('finds a wildcard host overlapping a specific one', () => {
    expect(listenAddressesOverlap(tcp(':3307'), tcp('127.0.0.1:3307'))).toBe(true);
    expect(listenAddressesOverlap(tcp('[::]:3307'), tcp('10.0.0.1:3307'))).toBe(true);
  });

  it('lets different hosts or ports coexist', () => {
    expect(listenAddressesOverlap(tcp('127.0.0.1:3307'), tcp('127.0.0.2:3307'))).toBe(false);
    expect(listenAddressesOverlap(tcp(':3307'), tcp(':3308'))).toBe(false);
  });

  it('never counts port 0 as a clash', () => {
    expect(listenAddressesOverlap(tcp('127.0.0.1:0'), tcp('127.0.0.1:0'))).toBe(false);
  });

  it('compares unix paths with unix paths only', () => {
    expect(listenAddressesOverlap(tcp('unix:/tmp/a'), tcp('unix:/tmp/a'))).toBe(true);
    expect(listenAddressesOverlap(tcp('unix:/tmp/a'), tcp('unix:/tmp/b'))).toBe(false);
    expect(listenAddressesOverlap(tcp('unix:/tmp/a'), tcp(':3307'))).toBe(false);
  });
});
