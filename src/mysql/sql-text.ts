const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('windows-1252');

/**
 * Decodes statement text for the parser and for keys. Valid UTF-8 decodes as
 * such; anything else (binary literals, single-byte charsets) decodes byte for
 * byte, so two different byte strings never become the same key. The second
 * form is marked with a leading U+0000, which no SQL text can start with.
 */
export function decodeSqlText(payload: Uint8Array, start: number): string {
  const bytes = payload.subarray(start);
  const text = utf8.decode(bytes);
  if (text.indexOf('\uFFFD') < 0) return text;
  return '\u0000' + latin1.decode(bytes);
}
