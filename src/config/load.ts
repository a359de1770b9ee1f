/**
 * Builds the frozen `Config` in a fixed order:
 *   1. parse the INI file (with `ini`);
 *   2. convert its strings to the schema's types, explicitly;
 *   3. apply TQDBPROXY_* environment overrides, then command-line flags;
 *   4. validate against the TypeBox schema, then the rules between keys;
 *   5. derive normalised values (parsed addresses, group maps);
 *   6. freeze everything.
 * Every problem found on the way is collected, and `ConfigError` reports them
 * all at once, so an operator fixes a file in one round.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decode } from 'ini';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { listenAddressesOverlap, parseAddress, type AddressUse } from './address.ts';
import { envOrigin, readEnvOverrides, resolveEnvGroup, type EnvOverride } from './env.ts';
import { ConfigError, ConfigProblem } from './errors.ts';
import {
  BUILT_IN_GROUP,
  expectedText,
  GROUP_NAME,
  groupSchema,
  isListKey,
  PROTOCOLS,
  protocolSchema,
  ProxySection,
  unknownKeyExpected,
  type GroupSectionValues,
  type ProtocolName,
  type ProtocolSectionValues,
  type ProxySectionValues,
} from './schema.ts';
import type { Address, BackendGroupConfig, BackendTlsConfig, ClientTlsConfig, Config, ProtocolConfig } from './types.ts';

export interface LoadOptions {
  /** INI file to read; null for built-in defaults plus environment. A file that cannot be read is a problem. */
  readonly file: string | null;
  /** Usually `process.env`; only TQDBPROXY_* names are read. */
  readonly env: Record<string, string | undefined>;
  /** `--metrics ADDR`: overrides `[proxy] metrics_listen`. */
  readonly metricsListen?: string;
  /** `--log-level`: overrides `[proxy] log_level`. */
  readonly logLevel?: string;
  /** `--log-format`: overrides `[proxy] log_format`. */
  readonly logFormat?: string;
}

/** The origin of values nobody set, named in problems that involve them. */
export const DEFAULTS_ORIGIN = '(built-in defaults)';

/**
 * Loads, validates and freezes a complete configuration.
 * @throws ConfigError listing every problem found.
 */
export function loadConfig(options: LoadOptions): Config {
  const problems: ConfigProblem[] = [];
  const defaultsOrigin = options.file ?? DEFAULTS_ORIGIN;

  // 1. Parse.
  let document: RawDocument = emptyDocument();
  if (options.file !== null) {
    const text = readConfigFile(options.file, problems);
    if (text === null) throw new ConfigError(problems);
    document = parseIni(text, options.file, problems);
  }

  // 2. Convert.
  const draft = convertDocument(document, defaultsOrigin, problems);

  // 3. Environment, then flags.
  const env = readEnvOverrides(options.env);
  problems.push(...env.problems);
  for (const protocol of PROTOCOLS) {
    const state = draft.protocols[protocol];
    if (!state.isEnabled && env.overrides.some((o) => o.target.kind !== 'proxy' && o.target.protocol === protocol)) {
      state.isEnabled = true;
    }
    if (state.isEnabled && state.groups.size === 0) {
      const builtIn = BUILT_IN_GROUP[protocol];
      const group = newSection(`${protocol}.${builtIn.name}`, groupSchema(protocol), defaultsOrigin);
      group.entries.set('primary', { value: builtIn.primary, raw: builtIn.primary, origin: defaultsOrigin });
      state.groups.set(builtIn.name, group);
    }
  }
  for (const override of env.overrides) applyEnvOverride(draft, override, problems);
  applyFlag(draft.proxy, 'metrics_listen', options.metricsListen, '--metrics', problems);
  applyFlag(draft.proxy, 'log_level', options.logLevel, '--log-level', problems);
  applyFlag(draft.proxy, 'log_format', options.logFormat, '--log-format', problems);

  // 4. Validate.
  const proxy = validateSection(draft.proxy, problems);
  const protocols = PROTOCOLS.map((protocol) => {
    const state = draft.protocols[protocol];
    if (!state.isEnabled) return null;
    const section = validateSection(state.section, problems);
    const groups = new Map<string, Values>();
    for (const [name, group] of state.groups) groups.set(name, validateSection(group, problems));
    checkProtocolRules(protocol, state, section, groups, problems);
    return { protocol, section, groups };
  });
  checkSectionRules(draft.proxy, proxy, problems);
  checkListenConflicts(draft, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  // 5. Derive. 6. Freeze.
  // With no problems, every section holds exactly its schema's values.
  const [mariadb, postgres] = protocols;
  if (mariadb === null || mariadb === undefined) throw new Error('invariant: mariadb is always enabled');
  const p = proxy as ProxySectionValues;
  const config: Config = {
    sourceFile: options.file,
    mariadb: deriveProtocol(mariadb.section, mariadb.groups),
    postgres: postgres == null ? null : deriveProtocol(postgres.section, postgres.groups),
    metricsListen: address(p.metrics_listen, 'listen'),
    logLevel: p.log_level,
    logFormat: p.log_format,
    shutdownTimeoutMs: p.shutdown_timeout_ms,
    metricsMaxCallSites: p.metrics_max_call_sites,
    cache: {
      maxBytes: p.cache_max_bytes,
      maxEntryBytes: p.cache_max_entry_bytes,
      waitTimeoutMs: p.cache_wait_timeout_ms,
      staleFactor: p.cache_stale_factor,
    },
  };
  return deepFreeze(config);
}

// ---------------------------------------------------------------------------
// 1. Parse

/** What `ini` gave for one key: usually a string; true for a bare key; an array for `key[]` lines. */
type RawValue = unknown;

interface RawSection {
  readonly keys: Map<string, RawValue>;
}

interface RawProtocol {
  isPresent: boolean;
  readonly section: RawSection;
  readonly groups: Map<string, RawSection>;
}

interface RawDocument {
  readonly file: string | null;
  readonly proxy: RawSection;
  readonly protocols: Record<ProtocolName, RawProtocol>;
}

function emptyDocument(file: string | null = null): RawDocument {
  const protocol = (): RawProtocol => ({ isPresent: false, section: { keys: new Map() }, groups: new Map() });
  return { file, proxy: { keys: new Map() }, protocols: { mariadb: protocol(), postgres: protocol() } };
}

/** A config file is a few KiB; anything this big is the wrong file (or /dev/urandom), not a config. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

function readConfigFile(file: string, problems: ConfigProblem[]): string | null {
  const refuse = (why: string): null => {
    problems.push(new ConfigProblem({ file, section: '', key: '', value: null, expected: why }));
    return null;
  };
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return refuse('a readable config file (it is a directory)');
    // Devices and pipes never end or end anywhere; only a regular file has a size to trust.
    if (!stat.isFile()) return refuse('a regular config file (it is a device, pipe or socket)');
    if (stat.size > MAX_CONFIG_FILE_BYTES) return refuse(`a config file of at most ${MAX_CONFIG_FILE_BYTES} bytes (it has ${stat.size})`);
    // Read at most the cap even if the file grows while we read it.
    const buf = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_CONFIG_FILE_BYTES) return refuse(`a config file of at most ${MAX_CONFIG_FILE_BYTES} bytes`);
    }
    const text = buf.toString('utf8', 0, length);
    if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) {
      return refuse('a text file (it holds control characters: is it a binary file?)');
    }
    return text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : String((error as Error).message);
    problems.push(new ConfigProblem({ file, section: '', key: '', value: null, expected: `a readable config file (${reason})` }));
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

const KNOWN_SECTIONS = 'one of [proxy], [mariadb], [mariadb.<name>], [postgres], [postgres.<name>]';

function isSectionObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sorts what `ini` produced into sections. `ini` nests dotted section names
 * (`[mariadb.main]` becomes `mariadb.main`), so an object where a key should
 * be is a subsection; anything nested deeper than a group is unknown.
 */
function parseIni(text: string, file: string, problems: ConfigProblem[]): RawDocument {
  // `ini` only takes a header alone on its line; a comment after it is common
  // INI usage, so drop it rather than misread the header as a key.
  const source = text.replace(/^\uFEFF/, '').replace(/^(\s*\[[^\]\r\n]*\])[ \t]*[;#][^\r\n]*$/gm, '$1');
  const parsed = decode(source) as Record<string, unknown>;
  const { bareKeys, hasUnclosedHeader } = reportLineProblems(source, file, problems);
  const isBare = (section: string, key: string): boolean => bareKeys.has(`${section}\u0000${key}`);
  const document = emptyDocument(file);
  const unknownSection = (section: string): void => {
    problems.push(new ConfigProblem({ file, section, key: '', value: null, expected: KNOWN_SECTIONS }));
  };

  for (const [name, value] of Object.entries(parsed)) {
    if (!isSectionObject(value)) {
      // After an unclosed header its keys land outside any section: one problem, said by the line scan.
      if (hasUnclosedHeader) continue;
      problems.push(
        new ConfigProblem({ file, section: '', key: name, value: rawText(value), expected: 'every key inside a [section]' }),
      );
      continue;
    }
    if (name === 'proxy') {
      for (const [key, v] of Object.entries(value)) {
        if (isSectionObject(v)) reportNested(`proxy.${key}`, v, unknownSection);
        else if (!isBare('proxy', key)) document.proxy.keys.set(key, v);
      }
      continue;
    }
    const protocol = PROTOCOLS.find((p) => p === name);
    if (protocol === undefined) {
      reportNested(name, value, unknownSection);
      continue;
    }
    const target = document.protocols[protocol];
    target.isPresent = true;
    for (const [key, v] of Object.entries(value)) {
      if (!isSectionObject(v)) {
        if (!isBare(protocol, key)) target.section.keys.set(key, v);
        continue;
      }
      const sectionName = `${protocol}.${key}`;
      if (!GROUP_NAME.test(key)) {
        problems.push(
          new ConfigProblem({
            file,
            section: sectionName,
            key: '',
            value: null,
            expected: `a group name of letters, digits, _ and - (at most 64), as in [${protocol}.main]`,
          }),
        );
        continue;
      }
      const group: RawSection = { keys: new Map() };
      let hasSubsections = false;
      for (const [groupKey, groupValue] of Object.entries(v)) {
        if (isSectionObject(groupValue)) {
          hasSubsections = true;
          reportNested(`${sectionName}.${groupKey}`, groupValue, unknownSection);
        } else if (!isBare(sectionName, groupKey)) {
          group.keys.set(groupKey, groupValue);
        }
      }
      // `[mariadb.main.x]` alone makes `ini` invent an empty `main`: not a group the user wrote.
      if (group.keys.size > 0 || !hasSubsections) target.groups.set(key, group);
    }
  }
  return document;
}

/**
 * `ini` keeps the last of two equal keys in a section without a word; a
 * second `listen =` is almost always a mistake, so find repeats with the same
 * line grammar `ini` uses and report them.
 */
function reportLineProblems(text: string, file: string, problems: ConfigProblem[]): { bareKeys: Set<string>; hasUnclosedHeader: boolean } {
  const bareKeys = new Set<string>();
  let hasUnclosedHeader = false;
  let section = '';
  let seen = new Set<string>();
  // `ini` merges a repeated [section] into the first, the later keys silently
  // winning: as surprising as a repeated key, so refused the same way.
  const sections = new Set<string>();
  for (const line of text.split(/[\r\n]+/)) {
    if (/^\s*([;#]|$)/.test(line)) continue;
    const header = /^\[([^\]]*)\]\s*$/.exec(line);
    if (header !== null) {
      section = header[1].trim();
      if (sections.has(section)) {
        problems.push(new ConfigProblem({ file, section, key: '', value: null, expected: 'each [section] once (a second one would be merged into the first)' }));
      }
      sections.add(section);
      seen = new Set();
      continue;
    }
    if (/^\s*\[/.test(line) && !line.includes(']')) {
      hasUnclosedHeader = true;
      problems.push(
        new ConfigProblem({ file, section: '', key: '', value: line.trim(), expected: `a section header closed by "]" (found ${JSON.stringify(line.trim())})` }),
      );
      continue;
    }
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (key === '' || key.endsWith('[]')) continue;
    // `ini` reads a line without "=" as key = true: a typo far more often than a wish.
    // (`[mariadb] text` is a header with text after it: reported where the key is converted.)
    if (eq < 0 && !key.startsWith('[') && section !== '') {
      bareKeys.add(`${section}\u0000${key}`);
      problems.push(new ConfigProblem({ file, section, key, value: null, expected: 'key = value (this line has no "=")' }));
      continue;
    }
    if (seen.has(key)) {
      problems.push(
        new ConfigProblem({
          file,
          section,
          key,
          value: eq < 0 ? 'true' : line.slice(eq + 1).trim(),
          expected: 'each key once per section (the earlier value would be ignored)',
        }),
      );
    }
    seen.add(key);
  }
  return { bareKeys, hasUnclosedHeader };
}

/** Reports a section that should not exist, and any sections `ini` nested under it. */
function reportNested(name: string, value: Record<string, unknown>, report: (section: string) => void): void {
  const children = Object.entries(value).filter(([, v]) => isSectionObject(v));
  // A section with keys of its own was written as a header; one with only
  // subsections exists only because `ini` split a longer dotted name.
  if (children.length < Object.keys(value).length || children.length === 0) report(name);
  for (const [key, child] of children) reportNested(`${name}.${key}`, child as Record<string, unknown>, report);
}

function rawText(raw: RawValue): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return raw.map(rawText).join(', ');
  return String(raw);
}

// ---------------------------------------------------------------------------
// 2. Convert

interface Entry {
  readonly value: unknown;
  /** The text as written, quoted in problems. */
  readonly raw: string;
  /** File, `env NAME` or flag the value came from. */
  readonly origin: string;
}

interface SectionDraft {
  /** Section name as written in INI, without brackets. */
  readonly name: string;
  readonly schema: TObject;
  /** Where the section itself came from: reported for missing keys. */
  readonly origin: string;
  readonly entries: Map<string, Entry>;
  /** Keys that failed conversion or are unknown: already reported, skipped by validation. */
  readonly rejected: Set<string>;
}

interface ProtocolDraft {
  isEnabled: boolean;
  readonly section: SectionDraft;
  readonly groups: Map<string, SectionDraft>;
}

interface Draft {
  readonly proxy: SectionDraft;
  readonly protocols: Record<ProtocolName, ProtocolDraft>;
  readonly defaultsOrigin: string;
}

function newSection(name: string, schema: TObject, origin: string): SectionDraft {
  return { name, schema, origin, entries: new Map(), rejected: new Set() };
}

function convertDocument(document: RawDocument, defaultsOrigin: string, problems: ConfigProblem[]): Draft {
  const origin = document.file ?? defaultsOrigin;
  const convertSection = (draft: SectionDraft, raw: RawSection): SectionDraft => {
    for (const [key, value] of raw.keys) setEntry(draft, key, value, origin, problems);
    return draft;
  };
  const protocols = {} as Record<ProtocolName, ProtocolDraft>;
  for (const protocol of PROTOCOLS) {
    const raw = document.protocols[protocol];
    const groups = new Map<string, SectionDraft>();
    for (const [name, group] of raw.groups) {
      groups.set(name, convertSection(newSection(`${protocol}.${name}`, groupSchema(protocol), origin), group));
    }
    protocols[protocol] = {
      // MariaDB is the product's reason to exist; PostgreSQL is opt-in.
      isEnabled: protocol === 'mariadb' || raw.isPresent,
      section: convertSection(newSection(protocol, protocolSchema(protocol), origin), raw.section),
      groups,
    };
  }
  return {
    proxy: convertSection(newSection('proxy', ProxySection, origin), document.proxy),
    protocols,
    defaultsOrigin,
  };
}

/** Converts one value and stores it, replacing any earlier value for the key; reports unknown keys and bad types. */
function setEntry(draft: SectionDraft, key: string, raw: RawValue, origin: string, problems: ConfigProblem[]): void {
  const schema = draft.schema.properties[key] as TSchema | undefined;
  const text = rawText(raw);
  if (schema === undefined) {
    draft.rejected.add(key);
    problems.push(
      new ConfigProblem({
        file: origin,
        section: draft.name,
        key,
        value: text,
        // `ini` reads a header with text after it (`[mariadb] x`) as a key.
        expected: key.startsWith('[')
          ? 'a section header with nothing but a comment after it on its line'
          : unknownKeyExpected(draft.schema, draft.name, key),
      }),
    );
    return;
  }
  if (Array.isArray(raw)) {
    draft.rejected.add(key);
    draft.entries.delete(key);
    problems.push(
      new ConfigProblem({
        file: origin,
        section: draft.name,
        key,
        value: text,
        expected: isListKey(schema)
          ? 'a single line with comma-separated values, not key[] lines'
          : 'a single value, not key[] lines',
      }),
    );
    return;
  }
  const converted = convertValue(schema, text);
  if (!converted.ok) {
    draft.rejected.add(key);
    draft.entries.delete(key);
    problems.push(new ConfigProblem({ file: origin, section: draft.name, key, value: text, expected: expectedText(schema) }));
    return;
  }
  draft.rejected.delete(key);
  draft.entries.set(key, { value: converted.value, raw: text, origin });
}

const INTEGER = /^[+-]?[0-9]+$/;
const NUMBER = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

/** String to the schema's JS type. Ranges and formats are left to validation. */
function convertValue(schema: TSchema, text: string): { ok: true; value: unknown } | { ok: false } {
  const s = text.trim();
  switch (schema.type) {
    case 'integer': {
      if (!INTEGER.test(s)) return { ok: false };
      const n = Number(s);
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'number': {
      if (!NUMBER.test(s)) return { ok: false };
      const n = Number(s);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'boolean': {
      const lower = s.toLowerCase();
      if (lower === 'true') return { ok: true, value: true };
      if (lower === 'false') return { ok: true, value: false };
      return { ok: false };
    }
    case 'array':
      return { ok: true, value: s === '' ? [] : s.split(',').map((item) => item.trim()) };
    default:
      return { ok: true, value: s };
  }
}

// ---------------------------------------------------------------------------
// 3. Environment and flags

function applyEnvOverride(draft: Draft, override: EnvOverride, problems: ConfigProblem[]): void {
  const { target, variable, value } = override;
  const origin = envOrigin(variable);
  if (target.kind === 'proxy') {
    setEntry(draft.proxy, target.key, value, origin, problems);
    return;
  }
  const protocol = draft.protocols[target.protocol];
  if (target.kind === 'protocol') {
    setEntry(protocol.section, target.key, value, origin, problems);
    return;
  }
  const resolved = resolveEnvGroup(target.group, protocol.groups.keys());
  if ('ambiguous' in resolved) {
    problems.push(
      new ConfigProblem({
        file: origin,
        section: `${target.protocol}.${target.group}`,
        key: target.key,
        value,
        expected: `a variable naming one group, not several (${resolved.ambiguous.map((g) => `[${target.protocol}.${g}]`).join(', ')})`,
      }),
    );
    return;
  }
  let group = protocol.groups.get(resolved.name);
  if (group === undefined) {
    group = newSection(`${target.protocol}.${resolved.name}`, groupSchema(target.protocol), origin);
    protocol.groups.set(resolved.name, group);
  }
  setEntry(group, target.key, value, origin, problems);
}

function applyFlag(
  section: SectionDraft,
  key: string,
  value: string | undefined,
  flag: string,
  problems: ConfigProblem[],
): void {
  if (value !== undefined) setEntry(section, key, value, flag, problems);
}

// ---------------------------------------------------------------------------
// 4. Validate

type Values = Record<string, unknown>;

/** Fills defaults and checks every key against the section's schema; returns the values (valid keys only are trusted). */
function validateSection(draft: SectionDraft, problems: ConfigProblem[]): Values {
  const values: Values = {};
  for (const [key, entry] of draft.entries) values[key] = entry.value;
  Value.Default(draft.schema, values);
  const reported = new Set<string>(draft.rejected);
  for (const error of Value.Errors(draft.schema, values)) {
    const key = error.path.split('/')[1] ?? '';
    if (key === '' || reported.has(key)) continue;
    reported.add(key);
    const schema = draft.schema.properties[key] as TSchema;
    const entry = draft.entries.get(key);
    problems.push(
      new ConfigProblem({
        file: entry?.origin ?? draft.origin,
        section: draft.name,
        key,
        value: entry?.raw ?? null,
        expected: entry === undefined ? `${expectedText(schema)} (required)` : expectedText(schema),
      }),
    );
  }
  // Keys that failed are dropped so derived rules never see a wrong value.
  for (const key of reported) delete values[key];
  return values;
}

function problemAt(draft: SectionDraft, key: string, values: Values, expected: string): ConfigProblem {
  const entry = draft.entries.get(key);
  return new ConfigProblem({
    file: entry?.origin ?? draft.origin,
    section: draft.name,
    key,
    value: entry?.raw ?? String(values[key]),
    expected,
  });
}

function checkSectionRules(draft: SectionDraft, values: Values, problems: ConfigProblem[]): void {
  const maxBytes = values['cache_max_bytes'];
  const maxEntryBytes = values['cache_max_entry_bytes'];
  if (typeof maxBytes === 'number' && typeof maxEntryBytes === 'number' && maxBytes > 0 && maxEntryBytes > maxBytes) {
    problems.push(problemAt(draft, 'cache_max_entry_bytes', values, `at most cache_max_bytes (${maxBytes})`));
  }
}

function checkProtocolRules(
  protocol: ProtocolName,
  state: ProtocolDraft,
  section: Values,
  groups: Map<string, Values>,
  problems: ConfigProblem[],
): void {
  const draft = state.section;
  const min = section['writebatch_min_delay_ms'];
  const initial = section['writebatch_initial_delay_ms'];
  const max = section['writebatch_max_delay_ms'];
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    problems.push(problemAt(draft, 'writebatch_min_delay_ms', section, `at most writebatch_max_delay_ms (${max})`));
  } else if (typeof min === 'number' && typeof max === 'number' && typeof initial === 'number' && (initial < min || initial > max)) {
    // Blame the key the user wrote: a defaulted initial delay is not the mistake.
    if (draft.entries.has('writebatch_initial_delay_ms')) {
      problems.push(
        problemAt(
          draft,
          'writebatch_initial_delay_ms',
          section,
          `between writebatch_min_delay_ms (${min}) and writebatch_max_delay_ms (${max})`,
        ),
      );
    } else if (initial < min) {
      problems.push(problemAt(draft, 'writebatch_min_delay_ms', section, `at most writebatch_initial_delay_ms (${initial})`));
    } else {
      problems.push(problemAt(draft, 'writebatch_max_delay_ms', section, `at least writebatch_initial_delay_ms (${initial})`));
    }
  }

  checkClientTlsRules(draft, section, problems);

  const defaultGroup = section['default'];
  if (typeof defaultGroup === 'string' && !groups.has(defaultGroup)) {
    const names = [...groups.keys()];
    problems.push(
      problemAt(
        draft,
        'default',
        section,
        `the name of a [${protocol}.<name>] group (${names.length === 0 ? 'none is defined' : `defined: ${names.join(', ')}`})`,
      ),
    );
  }

  // A database routed to two groups would make the shard choice depend on
  // iteration order; each must have exactly one home.
  const homes = new Map<string, string>();
  for (const [name, values] of groups) {
    const groupDraft = state.groups.get(name) as SectionDraft;
    const databases = values['databases'];
    if (Array.isArray(databases)) {
      const clash = databases.find((db: string) => homes.has(db) || databases.indexOf(db) !== databases.lastIndexOf(db));
      if (clash !== undefined) {
        const other = homes.get(clash);
        problems.push(
          problemAt(
            groupDraft,
            'databases',
            values,
            other === undefined || other === name
              ? 'each database listed once'
              : `each database in one group only (${clash} is also in [${protocol}.${other}])`,
          ),
        );
      } else {
        for (const db of databases as string[]) homes.set(db, name);
      }
    }
    const primary = values['primary'];
    const replicas = values['replicas'];
    if (typeof primary === 'string' && Array.isArray(replicas)) {
      const primaryText = address(primary, 'backend').text;
      const texts = (replicas as string[]).map((r) => address(r, 'backend').text);
      if (texts.some((t, i) => t === primaryText || texts.indexOf(t) !== i)) {
        problems.push(problemAt(groupDraft, 'replicas', values, 'replica addresses that differ from each other and from the primary'));
      }
    }
  }
}

/** A certificate needs its key and the reverse; tls_mode = require needs both; client CAs need a certificate. */
function checkClientTlsRules(draft: SectionDraft, section: Values, problems: ConfigProblem[]): void {
  const cert = section['tls_cert_file'];
  const key = section['tls_key_file'];
  const ca = section['tls_ca_file'];
  const mode = section['tls_mode'];
  if (typeof cert !== 'string' || typeof key !== 'string') return;
  if (cert !== '' && key === '') problems.push(problemAt(draft, 'tls_key_file', section, 'the key file of tls_cert_file (both or neither)'));
  else if (cert === '' && key !== '') problems.push(problemAt(draft, 'tls_cert_file', section, 'the certificate file of tls_key_file (both or neither)'));
  else if (cert === '' && mode === 'require') problems.push(problemAt(draft, 'tls_mode', section, 'allow or disable when tls_cert_file and tls_key_file are empty'));
  else if (cert === '' && typeof ca === 'string' && ca !== '') problems.push(problemAt(draft, 'tls_ca_file', section, 'empty when tls_cert_file is empty'));
}

/** Two listeners on one socket would fail at bind time; say so now, naming both keys. */
function checkListenConflicts(draft: Draft, problems: ConfigProblem[]): void {
  const listeners: { draft: SectionDraft; key: string; address: Address }[] = [];
  const consider = (section: SectionDraft, key: string, schemaDefault: unknown): void => {
    const entry = section.entries.get(key);
    if (section.rejected.has(key)) return;
    const text = entry === undefined ? schemaDefault : entry.value;
    if (typeof text !== 'string' || text === '') return;
    const parsed = key === 'socket' ? parseAddress(`unix:${text}`, 'listen') : parseAddress(text, 'listen');
    if (parsed === null) return;
    const clash = listeners.find((l) => listenAddressesOverlap(l.address, parsed));
    if (clash !== undefined) {
      problems.push(
        problemAt(section, key, { [key]: text }, `an address no other listener uses ([${clash.draft.name}] ${clash.key} is ${clash.address.text})`),
      );
      return;
    }
    listeners.push({ draft: section, key, address: parsed });
  };
  consider(draft.proxy, 'metrics_listen', ProxySection.properties['metrics_listen']?.default);
  for (const protocol of PROTOCOLS) {
    const state = draft.protocols[protocol];
    if (!state.isEnabled) continue;
    const schema = protocolSchema(protocol);
    consider(state.section, 'listen', schema.properties['listen']?.default);
    consider(state.section, 'socket', schema.properties['socket']?.default);
  }
}

// ---------------------------------------------------------------------------
// 5. Derive

function address(text: unknown, use: AddressUse): Address {
  const parsed = parseAddress(String(text), use);
  if (parsed === null) throw new Error(`invariant: validated address ${String(text)} does not parse`);
  return parsed;
}

function deriveProtocol(values: Values, groups: Map<string, Values>): ProtocolConfig {
  const section = values as ProtocolSectionValues;
  const derivedGroups: [string, BackendGroupConfig][] = [];
  for (const [name, groupValues] of groups) {
    const group = groupValues as GroupSectionValues;
    derivedGroups.push([
      name,
      {
        name,
        primary: address(group.primary, 'backend'),
        replicas: group.replicas.map((r) => address(r, 'backend')),
        databases: [...group.databases],
        tls: deriveBackendTls(groupValues),
      },
    ]);
  }
  return {
    listen: address(section.listen, 'listen'),
    socket: section.socket === '' ? null : section.socket,
    defaultGroup: section.default,
    maxPacketSize: section.max_packet_size,
    maxClientConnections: section.max_client_connections,
    maxPendingHandshakes: section.max_pending_handshakes,
    handshakeTimeoutMs: section.handshake_timeout_ms,
    backendConnectTimeoutMs: section.backend_connect_timeout_ms,
    groups: new FrozenMap(derivedGroups),
    writeBatch: {
      enabled: section.writebatch_enabled,
      initialDelayMs: section.writebatch_initial_delay_ms,
      minDelayMs: section.writebatch_min_delay_ms,
      maxDelayMs: section.writebatch_max_delay_ms,
      maxBatchSize: section.writebatch_max_batch_size,
      writeThreshold: section.writebatch_write_threshold,
      adaptiveStep: section.writebatch_adaptive_step,
      metricsIntervalSeconds: section.writebatch_metrics_interval,
      timeoutMs: section.writebatch_timeout_ms,
      maxConcurrentBatches: section.writebatch_max_concurrent_batches,
      probeIntervalMs: section.writebatch_probe_interval_ms,
    },
    tls: deriveClientTls(values),
  };
}

const orNull = (path: unknown): string | null => (typeof path === 'string' && path !== '' ? path : null);

function deriveClientTls(values: Values): ClientTlsConfig {
  const v = values as Partial<ProtocolSectionValues>;
  return { mode: v.tls_mode ?? 'disable', certFile: orNull(v.tls_cert_file), keyFile: orNull(v.tls_key_file), caFile: orNull(v.tls_ca_file) };
}

function deriveBackendTls(values: Values): BackendTlsConfig {
  const v = values as Partial<GroupSectionValues>;
  return { mode: v.backend_tls ?? 'disable', caFile: orNull(v.backend_tls_ca_file) };
}

// ---------------------------------------------------------------------------
// 6. Freeze

/** A Map whose contents are fixed at construction: `Object.freeze` alone leaves `set` working. */
class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) Map.prototype.set.call(this, k, v);
  }
  override set(): this {
    throw new TypeError('config maps are read-only');
  }
  override delete(): boolean {
    throw new TypeError('config maps are read-only');
  }
  override clear(): void {
    throw new TypeError('config maps are read-only');
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return Object.freeze(value);
}

