/**
 * The words the SQL reader acts on, each with a small numeric id, and an
 * allocation-free lookup from a span of the statement text to that id.
 *
 * Only words some decision needs are listed: anything else scans as a plain
 * identifier (id 0). The lookup is an open-addressed table filled once when
 * the module loads and never written again.
 */

/** Keyword ids. The property name is the keyword, lower case. */
export const Kw = {
  // Statement leads.
  select: 1,
  with: 2,
  values: 3,
  table: 4,
  insert: 5,
  replace: 6,
  update: 7,
  delete: 8,
  load: 9,
  call: 10,
  create: 11,
  alter: 12,
  drop: 13,
  truncate: 14,
  rename: 15,
  comment: 16,
  grant: 17,
  revoke: 18,
  set: 19,
  use: 20,
  show: 21,
  describe: 22,
  desc: 23,
  explain: 24,
  analyze: 25,
  analyse: 26,
  do: 27,
  begin: 28,
  start: 29,
  commit: 30,
  rollback: 31,
  savepoint: 32,
  release: 33,
  lock: 34,
  unlock: 35,
  xa: 36,
  end: 37,
  abort: 38,
  copy: 39,
  listen: 40,
  unlisten: 41,
  notify: 42,
  prepare: 43,
  merge: 44,
  // Words that follow a lead.
  work: 50,
  transaction: 51,
  to: 52,
  read: 53,
  only: 54,
  write: 55,
  not: 56,
  atomic: 57,
  data: 58,
  xml: 59,
  into: 60,
  ignore: 61,
  low_priority: 62,
  delayed: 63,
  high_priority: 64,
  for: 65,
  share: 66,
  no: 67,
  key: 68,
  in: 69,
  mode: 70,
  returning: 71,
  names: 72,
  character: 73,
  charset: 74,
  autocommit: 75,
  global: 76,
  session: 77,
  local: 78,
  persist: 79,
  persist_only: 80,
  statement: 81,
  characteristics: 82,
  as: 83,
  on: 84,
  off: 85,
  true: 86,
  false: 87,
  null: 88,
  is: 89,
  default: 90,
  procedure: 91,
  function: 92,
  trigger: 93,
  event: 94,
  view: 95,
  index: 96,
  tables: 97,
  recursive: 98,
  from: 99,
  previous: 100,
  next: 101,
  value: 102,
  prepared: 103,
  partition: 104,
  overriding: 105,
  row: 106,
  duplicate: 107,
  conflict: 108,
  sql_calc_found_rows: 109,
  temporary: 110,
  temp: 111,
  unlogged: 112,
  if: 113,
  exists: 114,
  database: 115,
  schema: 116,
  // Clauses and operators.
  where: 120,
  join: 121,
  straight_join: 122,
  group: 123,
  having: 124,
  order: 125,
  limit: 126,
  offset: 127,
  union: 128,
  except: 129,
  intersect: 130,
  window: 131,
  using: 132,
  lateral: 133,
  dual: 134,
  and: 135,
  or: 136,
  xor: 137,
  then: 138,
  else: 139,
  when: 140,
  case: 141,
  by: 142,
  between: 143,
  like: 144,
  div: 145,
  mod: 146,
  interval: 147,
  distinct: 148,
  all: 149,
  any: 150,
  some: 151,
  escape: 152,
  regexp: 153,
  rlike: 154,
  return: 155,
  fetch: 156,
  ilike: 157,
  similar: 158,
  // Functions whose result depends on the session that runs them.
  last_insert_id: 170,
  row_count: 171,
  found_rows: 172,
  connection_id: 173,
  lastval: 174,
  currval: 175,
  pg_backend_pid: 176,
  get_lock: 177,
  release_lock: 178,
  release_all_locks: 179,
  is_free_lock: 180,
  is_used_lock: 181,
  pg_advisory_lock: 182,
  pg_advisory_lock_shared: 183,
  pg_advisory_unlock: 184,
  pg_advisory_unlock_shared: 185,
  pg_advisory_unlock_all: 186,
  pg_try_advisory_lock: 187,
  pg_try_advisory_lock_shared: 188,
  pg_advisory_xact_lock: 189,
  pg_advisory_xact_lock_shared: 190,
  pg_try_advisory_xact_lock: 191,
  pg_try_advisory_xact_lock_shared: 192,
  set_config: 193,
  current_setting: 194,
  txid_current: 195,
  txid_current_if_assigned: 196,
  pg_current_xact_id: 197,
  pg_current_xact_id_if_assigned: 198,
  // Functions that write.
  nextval: 210,
  setval: 211,
  pg_notify: 212,
} as const;

export type KwId = (typeof Kw)[keyof typeof Kw];

/** Bits of `KW_FLAGS`. */
export const KwFlag = {
  /** Cannot be an unquoted table name: ends a table reference. */
  Reserved: 1,
  /** A function whose result depends on the calling session, when followed by `(`. */
  SessionFn: 2,
  /** A function that modifies data, when followed by `(`. */
  WriteFn: 4,
  /** A `+`/`-` right after this word is a sign, not a binary operator. */
  SignFollows: 8,
  /** Ends a FROM/UPDATE table list at its depth. */
  Clause: 16,
  /** May stand between INSERT/REPLACE and INTO. */
  InsertModifier: 32,
} as const;

const R = KwFlag.Reserved;
const S = KwFlag.SignFollows;
const C = KwFlag.Clause;

const FLAGS_BY_WORD: Partial<Record<keyof typeof Kw, number>> = {
  select: R | S,
  with: R,
  values: R | S,
  table: R,
  insert: R,
  replace: R,
  update: R,
  delete: R,
  set: R | S | C,
  use: R,
  show: R,
  describe: R,
  desc: R,
  explain: R,
  release: R,
  lock: R | C,
  unlock: R,
  into: R | C,
  ignore: R | KwFlag.InsertModifier,
  low_priority: R | KwFlag.InsertModifier,
  delayed: R | KwFlag.InsertModifier,
  high_priority: R | KwFlag.InsertModifier,
  for: R | C,
  not: R | S,
  in: R | S,
  key: R,
  returning: R | S | C,
  character: R,
  as: R,
  on: R | S,
  is: R | S,
  default: R,
  procedure: R | C,
  recursive: R,
  from: R,
  partition: R,
  row: R,
  duplicate: C,
  conflict: C,
  sql_calc_found_rows: R,
  if: R,
  exists: R | S,
  where: R | S | C,
  join: R,
  straight_join: R,
  group: R | C,
  having: R | S | C,
  order: R | C,
  limit: R | S | C,
  offset: S | C,
  union: R | C,
  except: R | C,
  intersect: R | C,
  window: R | C,
  using: R,
  lateral: R,
  dual: R,
  and: R | S,
  or: R | S,
  xor: R | S,
  then: R | S,
  else: R | S,
  when: R | S,
  case: R | S,
  by: R | S,
  between: R | S,
  like: R | S,
  ilike: R | S,
  similar: R | S,
  div: R | S,
  mod: S,
  interval: R | S,
  distinct: R | S,
  all: R | S,
  any: R | S,
  some: R | S,
  escape: S,
  regexp: R | S,
  rlike: R | S,
  return: R | S,
  fetch: R | C,
  to: S,
  value: S,
  nextval: KwFlag.WriteFn,
  setval: KwFlag.WriteFn,
  pg_notify: KwFlag.WriteFn,
};

const SESSION_FUNCTIONS: readonly (keyof typeof Kw)[] = [
  'last_insert_id', 'row_count', 'found_rows', 'connection_id', 'lastval', 'currval', 'pg_backend_pid',
  'get_lock', 'release_lock', 'release_all_locks', 'is_free_lock', 'is_used_lock',
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_advisory_unlock', 'pg_advisory_unlock_shared',
  'pg_advisory_unlock_all', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared', 'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared',
  'set_config', 'current_setting', 'txid_current', 'txid_current_if_assigned', 'pg_current_xact_id',
  'pg_current_xact_id_if_assigned',
];

/** Longest keyword, in characters: words longer than this are never looked up. */
export const MAX_KEYWORD_LENGTH = 32;

const MAX_ID = 255;
/** Flags by keyword id. */
export const KW_FLAGS = new Uint8Array(MAX_ID + 1);

const TABLE_BITS = 11;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
// Open-addressed hash table: keyword id (0 = empty slot) and the full hash per slot,
// so most misses are rejected without comparing characters. Keyword texts are stored
// flat (lower case, folded like the scanner folds) for the final comparison.
const SLOT_ID = new Uint8Array(1 << TABLE_BITS);
const SLOT_HASH = new Int32Array(1 << TABLE_BITS);
const KW_TEXT = new Uint8Array(4096);
const KW_START = new Int32Array(MAX_ID + 1);
const KW_LENGTH = new Int32Array(MAX_ID + 1);

/**
 * The hash the scanner computes while it reads a word. `| 0x20` lower-cases
 * ASCII letters and leaves the other identifier characters (digits, `_`, `$`,
 * code points >= 0x80) distinct, so the folding is exact on words.
 */
export function hashStep(hash: number, code: number): number {
  return (Math.imul(hash, 31) + (code | 0x20)) | 0;
}

function slotOf(hash: number): number {
  return (hash ^ (hash >>> 11) ^ (hash >>> 22)) & TABLE_MASK;
}

let textLength = 0;
for (const [word, id] of Object.entries(Kw)) {
  if (word.length > MAX_KEYWORD_LENGTH) throw new Error(`keyword ${word} longer than MAX_KEYWORD_LENGTH`);
  let hash = 0;
  KW_START[id] = textLength;
  KW_LENGTH[id] = word.length;
  for (let i = 0; i < word.length; i++) {
    const code = word.charCodeAt(i) | 0x20;
    KW_TEXT[textLength++] = code;
    hash = hashStep(hash, code);
  }
  let slot = slotOf(hash);
  while (SLOT_ID[slot] !== 0) slot = (slot + 1) & TABLE_MASK;
  SLOT_ID[slot] = id;
  SLOT_HASH[slot] = hash;
  KW_FLAGS[id] = FLAGS_BY_WORD[word as keyof typeof Kw] ?? 0;
}
for (const word of SESSION_FUNCTIONS) KW_FLAGS[Kw[word]] |= KwFlag.SessionFn;

/**
 * The keyword id of `sql[start, end)`, or 0. `hash` must be the scanner's
 * hash of that span (see `hashStep`). Case-insensitive for ASCII letters.
 */
export function keywordAt(sql: string, start: number, end: number, hash: number): number {
  const length = end - start;
  let slot = slotOf(hash);
  for (;;) {
    const id = SLOT_ID[slot];
    if (id === 0) return 0;
    if (SLOT_HASH[slot] === hash && KW_LENGTH[id] === length) {
      const offset = KW_START[id];
      let i = 0;
      while (i < length && (sql.charCodeAt(start + i) | 0x20) === KW_TEXT[offset + i]) i++;
      if (i === length) return id;
    }
    slot = (slot + 1) & TABLE_MASK;
  }
}

/** The keyword id of `word` (any case), or 0. For tests and cold paths. */
export function keywordOf(word: string): number {
  if (word.length > MAX_KEYWORD_LENGTH) return 0;
  let hash = 0;
  for (let i = 0; i < word.length; i++) hash = hashStep(hash, word.charCodeAt(i));
  return keywordAt(word, 0, word.length, hash);
}
