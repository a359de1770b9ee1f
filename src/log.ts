/**
 * Leveled, structured log lines on stderr, one line per event.
 *
 * text: `2026-11-27T03:04:20.123Z INFO listening protocol=mariadb address=127.0.0.1:41234`
 * json: `{"time":"2026-11-27T03:04:20.123Z","level":"info","msg":"listening","protocol":"mariadb","address":"127.0.0.1:41234"}`
 *
 * Fields keep the order given (child fields first), because test harnesses
 * read `listening protocol=mariadb address=HOST:PORT` and
 * `metrics listening address=HOST:PORT` from the text form. A log call never
 * throws: a value that cannot be rendered is replaced by a placeholder.
 */
import type { LogFormat, LogLevel } from './config/types.ts';

export type { LogFormat, LogLevel };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, before the call's own fields. */
  child(fields: LogFields): Logger;
  /** Whether debug lines are written: check it before building expensive debug fields. */
  readonly isDebug: boolean;
}

/** The logger main.ts owns; a SIGHUP reload may change its level and format for every child at once. */
export interface RootLogger extends Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  setLevel(level: LogLevel): void;
  setFormat(format: LogFormat): void;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Receives each complete line, newline included. Defaults to stderr. */
  readonly write?: (line: string) => void;
  /** Clock for the time field; tests inject a fixed one. */
  readonly now?: () => Date;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const LABEL: Readonly<Record<LogLevel, string>> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
const RESERVED_JSON_KEYS = new Set(['time', 'level', 'msg']);

/** State shared by a root logger and all its children. */
interface Sink {
  rank: number;
  level: LogLevel;
  format: LogFormat;
  readonly write: (line: string) => void;
  readonly now: () => Date;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

export function createLogger(options: LoggerOptions): RootLogger {
  const sink: Sink = {
    rank: RANK[options.level],
    level: options.level,
    format: options.format,
    write: options.write ?? writeStderr,
    now: options.now ?? (() => new Date()),
  };
  return new Root(sink);
}

function writeStderr(line: string): void {
  process.stderr.write(line);
}

class ChildLogger implements Logger {
  protected readonly sink: Sink;
  private readonly fields: readonly (readonly [string, unknown])[];

  constructor(sink: Sink, fields: readonly (readonly [string, unknown])[]) {
    this.sink = sink;
    this.fields = fields;
  }

  get isDebug(): boolean {
    return this.sink.rank <= RANK.debug;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.sink.rank <= RANK.debug) this.emit('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.sink.rank <= RANK.info) this.emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.sink.rank <= RANK.warn) this.emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new ChildLogger(this.sink, [...this.fields, ...Object.entries(fields)]);
  }

  private emit(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    let line: string;
    try {
      const time = this.sink.now().toISOString();
      line =
        this.sink.format === 'json'
          ? formatJson(time, level, msg, this.fields, fields)
          : formatText(time, level, msg, this.fields, fields);
    } catch (error) {
      // Logging must never take the proxy down; say what went wrong instead.
      line = `${new Date().toISOString()} ERROR log line could not be formatted msg=${quoteText(String(msg))} error=${quoteText(String(error))}\n`;
    }
    try {
      this.sink.write(line);
    } catch {
      // stderr is gone (closed pipe); there is nowhere left to report it.
    }
  }
}

class Root extends ChildLogger implements RootLogger {
  constructor(sink: Sink) {
    super(sink, []);
  }

  get level(): LogLevel {
    return this.sink.level;
  }

  get format(): LogFormat {
    return this.sink.format;
  }

  setLevel(level: LogLevel): void {
    this.sink.level = level;
    this.sink.rank = RANK[level];
  }

  setFormat(format: LogFormat): void {
    this.sink.format = format;
  }
}

// ---------------------------------------------------------------------------
// text

function formatText(
  time: string,
  level: LogLevel,
  msg: string,
  inherited: readonly (readonly [string, unknown])[],
  fields: LogFields | undefined,
): string {
  let line = `${time} ${LABEL[level]} ${escapeMessage(msg)}`;
  for (const [key, value] of inherited) line += ` ${textKey(key)}=${textValue(value)}`;
  if (fields !== undefined) {
    for (const key in fields) line += ` ${textKey(key)}=${textValue(fields[key])}`;
  }
  return `${line}\n`;
}

/**
 * Messages are constant text by convention, but some carry client text (a
 * warning quoting SQL): escape control characters as everywhere else.
 */
function escapeMessage(msg: string): string {
  return escapeControl(msg);
}

/**
 * C0 and C1 control characters, DEL, and the Unicode line and paragraph
 * separators. Any of them in a log line lets a client move the cursor,
 * recolour a terminal (ESC, CSI 0x9b) or forge a second line.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `s` with every control character written as a visible escape (`\n`, `\u001b`),
 * and backslashes left alone. For any string that reaches a terminal or a log
 * line from outside: SQL text, hint values, config file bytes.
 */
export function escapeControl(s: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(s)) return s;
  return s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function textKey(key: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(key) ? key : key.replace(/[^A-Za-z0-9_.-]/g, '_') || '_';
}

function textValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoteText(value);
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'symbol':
    case 'function':
      return quoteText(String(value));
    default:
      if (value === null) return 'null';
      if (value instanceof Error) return quoteText(errorText(value));
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'invalid-date' : value.toISOString();
      return quoteText(safeJson(value));
  }
}

/**
 * Bare when unambiguous; JSON-quoted when empty or holding spaces, quotes, `=`
 * or control characters. JSON.stringify leaves DEL and the C1 range (CSI is
 * 0x9b) raw, so those are escaped on top.
 */
function quoteText(s: string): string {
  return s === '' || /[\s"=\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) ? escapeControl(JSON.stringify(s)) : s;
}

function errorText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const head = error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
  return typeof code === 'string' || typeof code === 'number' ? `${head} (${code})` : head;
}

// ---------------------------------------------------------------------------
// json

function formatJson(
  time: string,
  level: LogLevel,
  msg: string,
  inherited: readonly (readonly [string, unknown])[],
  fields: LogFields | undefined,
): string {
  const record: Record<string, unknown> = { time, level, msg };
  const add = (key: string, value: unknown): void => {
    record[RESERVED_JSON_KEYS.has(key) ? `field_${key}` : key] = value;
  };
  for (const [key, value] of inherited) add(key, value);
  if (fields !== undefined) for (const key in fields) add(key, fields[key]);
  return `${escapeControl(safeJson(record))}\n`;
}

/** JSON that survives cycles, bigints and errors. */
function safeJson(value: unknown): string {
  // Objects on the path from the root to the value being written: a value
  // seen there is a cycle, while one merely seen elsewhere is just shared.
  const ancestors: unknown[] = [];
  return (
    JSON.stringify(value, function (this: unknown, _key: string, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v !== 'object' || v === null) return v;
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.includes(v)) return '[circular]';
      if (v instanceof Error) {
        const out: Record<string, unknown> = { name: v.name, message: v.message };
        const code = (v as { code?: unknown }).code;
        if (code !== undefined) out['code'] = code;
        if (v.stack !== undefined) out['stack'] = v.stack;
        return out;
      }
      ancestors.push(v);
      return v;
    }) ?? 'null'
  );
}
