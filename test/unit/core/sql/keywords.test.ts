import { describe, expect, it } from 'bun:test';
import { Kw, keywordAt, keywordOf, MAX_KEYWORD_LENGTH } from '../../../../src/core/sql/keywords.ts';

describe('core/sql keywords', () => {
  it('finds every keyword in lower, upper and mixed case', () => {
    for (const [word, id] of Object.entries(Kw)) {
      expect(keywordOf(word)).toBe(id);
      expect(keywordOf(word.toUpperCase())).toBe(id);
      expect(keywordOf(word.replace(/^./, (ch) => ch.toUpperCase()))).toBe(id);
    }
  });

  it('gives 0 for identifiers, prefixes and extensions of keywords', () => {
    for (const word of ['users', 'selec', 'selects', 'sel_ect', 'updat', 'insert_', '', 'x'.repeat(MAX_KEYWORD_LENGTH + 1)]) {
      expect(keywordOf(word)).toBe(0);
    }
  });

  it('does not fold non-ASCII letters onto keywords', () => {
    // U+0130 and U+017F lower-case to ASCII letters in some locales; SQL servers do not treat them as keywords.
    expect(keywordOf('\u0130N')).toBe(0);
    expect(keywordOf('\u017Fet')).toBe(0);
  });

  it('reads a span of a longer text', () => {
    const text = 'xx SELECT yy';
    let hash = 0;
    for (let i = 3; i < 9; i++) hash = (Math.imul(hash, 31) + (text.charCodeAt(i) | 0x20)) | 0;
    expect(keywordAt(text, 3, 9, hash)).toBe(Kw.select);
  });

  it('keeps ids unique', () => {
    const ids = Object.values(Kw);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
