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

// ---- PostgreSQL protocol 3.0, built independently of src/postgres/wire ----

export function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A typed message: type byte, int32 length counting itself, body. */
export function pgMessage(type: string, body: number[] | Uint8Array = []): Uint8Array {
  const b = [...body];
  return Uint8Array.from([type.charCodeAt(0), ...be32(b.length + 4), ...b]);
}

export function pgCstr(s: string): number[] {
  return [...new TextEncoder().encode(s), 0];
}

/** An untyped startup-phase message: int32 length, int32 code, body. */
export function pgStartupMessage(code: number, body: number[] = []): Uint8Array {
  return Uint8Array.from([...be32(body.length + 8), ...be32(code), ...body]);
}

/** StartupMessage for protocol 3.0 with the given parameters. */
export function pgStartup(parameters: Record<string, string>): Uint8Array {
  const body: number[] = [];
  for (const [k, v] of Object.entries(parameters)) body.push(...pgCstr(k), ...pgCstr(v));
  body.push(0);
  return pgStartupMessage(196608, body);
}

export function pgQuery(sql: string): Uint8Array {
  return pgMessage('Q', pgCstr(sql));
}

/** Splits a server byte stream into typed messages (for assertions). */
export function pgMessages(bytes: Uint8Array): { type: string; body: Uint8Array }[] {
  const out: { type: string; body: Uint8Array }[] = [];
  let pos = 0;
  while (pos + 5 <= bytes.length) {
    const len = ((bytes[pos + 1]! << 24) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 8) | bytes[pos + 4]!) >>> 0;
    if (pos + 1 + len > bytes.length) break;
    out.push({ type: String.fromCharCode(bytes[pos]!), body: bytes.subarray(pos + 5, pos + 1 + len) });
    pos += 1 + len;
  }
  return out;
}

/** The fields of an ErrorResponse body by their one-letter codes. */
export function pgErrorFields(body: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]!);
    const end = body.indexOf(0, pos + 1);
    fields[code] = new TextDecoder().decode(body.subarray(pos + 1, end));
    pos = end + 1;
  }
  return fields;
}
