// An independent builder for expected protocol bytes: tests never build their
// expectations with the writer under test.

export function packet(seq: number, payload: Uint8Array | number[]): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(4 + body.length);
  out[0] = body.length & 0xff;
  out[1] = (body.length >> 8) & 0xff;
  out[2] = (body.length >> 16) & 0xff;
  out[3] = seq;
  out.set(body, 4);
  return out;
}

/** Splits a payload of any size into physical packets the way the protocol requires. */
export function packets(seq: number, payload: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const len = Math.min(0xffffff, payload.length - offset);
    parts.push(packet(seq, payload.subarray(offset, offset + len)));
    seq = (seq + 1) & 0xff;
    offset += len;
    if (len < 0xffffff) break;
  }
  return concat(...parts);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function lenenc(n: number): number[] {
  if (n < 0xfb) return [n];
  if (n <= 0xffff) return [0xfc, n & 0xff, n >> 8];
  if (n <= 0xffffff) return [0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16];
  throw new Error('test builder: lenenc above 2^24 not needed');
}

export function lenencStr(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...lenenc(bytes.length), ...bytes];
}

export function ok(status: number, affected = 0, insertId = 0, header = 0x00): number[] {
  return [header, ...lenenc(affected), ...lenenc(insertId), status & 0xff, status >> 8, 0, 0];
}

export function eof(status: number): number[] {
  return [0xfe, 0, 0, status & 0xff, status >> 8];
}

export function err(code: number, message: string): number[] {
  return [0xff, code & 0xff, code >> 8, 0x23, ...new TextEncoder().encode('HY000'), ...new TextEncoder().encode(message)];
}

export function columnDef(name: string): number[] {
  return [
    ...lenencStr('def'), ...lenencStr('test'), ...lenencStr('t'), ...lenencStr('t'), ...lenencStr(name), ...lenencStr(name),
    0x0c, 45, 0, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0,
  ];
}

export function textRow(...values: (string | null)[]): number[] {
  return values.flatMap((v) => (v === null ? [0xfb] : lenencStr(v)));
}

/** A seeded PRNG (mulberry32) so failures can be replayed from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
