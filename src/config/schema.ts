/**
 * The config schema: the single source of truth for every INI section and key,
 * its type, range, default and meaning. load.ts converts and validates against
 * it, env.ts maps TQDBPROXY_* variables onto it, render.ts prints it, and a
 * unit test checks config.example.ini against it.
 *
 * Keys that only take effect at start-up carry `restart: true`, and their
 * description says so; a SIGHUP reload keeps their running values and warns.
 */
import { FormatRegistry, Kind, Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { ADDRESS_EXPECTED, parseAddress, UNIX_PATH_MAX_BYTES } from './address.ts';

export const LISTEN_ADDRESS = 'tqdb-listen-address';
export const BACKEND_ADDRESS = 'tqdb-backend-address';
export const NAME = 'tqdb-name';
export const DATABASE = 'tqdb-database';

/** Group names: they appear in section headers and in TQDBPROXY_* variable names. */
export const GROUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
/** Database names in lists: anything but separators, quotes and whitespace; 64 is MariaDB's limit. */
export const DATABASE_NAME = /^[^\s,'"`\\/]{1,64}$/;

// TypeBox keeps formats in a process-wide registry; registering the same
// checker again is harmless, so module load is the one place to do it.
FormatRegistry.Set(LISTEN_ADDRESS, (value) => parseAddress(value, 'listen') !== null);
FormatRegistry.Set(BACKEND_ADDRESS, (value) => parseAddress(value, 'backend') !== null);
FormatRegistry.Set(NAME, (value) => GROUP_NAME.test(value));
FormatRegistry.Set(DATABASE, (value) => DATABASE_NAME.test(value));

const RESTART = 'Needs a restart to change.';

const ProxySection = Type.Object(
  {
    metrics_listen: Type.String({
      format: LISTEN_ADDRESS,
      default: '127.0.0.1:9090',
      restart: true,
      description: `Address of the HTTP server for Prometheus /metrics and /healthz. Loopback by default: the endpoint has no authentication and names SQL call sites; bind it wider (e.g. :9090) only behind a firewall. --metrics overrides it. ${RESTART}`,
    }),
    log_level: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], {
      default: 'info',
      description: 'Least severe log level written to stderr. --log-level overrides it.',
    }),
    log_format: Type.Union([Type.Literal('text'), Type.Literal('json')], {
      default: 'text',
      description: 'Log line format: text (time LEVEL msg key=value ...) or json (one object per line). --log-format overrides it.',
    }),
    shutdown_timeout_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 10_000,
      description: 'On SIGTERM or SIGINT, how long in-flight commands and queued writes may take to finish before connections are closed.',
    }),
    metrics_max_call_sites: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 100,
      description: 'Cap on distinct file:line hint values (and batch sites) used as metric labels; later ones are labelled "other".',
    }),
    cache_max_bytes: Type.Integer({
      minimum: 0,
      maximum: 2 ** 40,
      default: 67_108_864,
      description: 'Memory for the query cache (keys and values), LRU-evicted beyond it. 0 disables caching.',
    }),
    cache_max_entry_bytes: Type.Integer({
      minimum: 0,
      maximum: 2 ** 40,
      default: 1_048_576,
      description: 'Largest single response stored in the cache; larger results are streamed through uncached.',
    }),
    cache_wait_timeout_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 5_000,
      description: 'How long identical concurrent cache misses wait for the one query in flight before running their own.',
    }),
    cache_stale_factor: Type.Number({
      minimum: 1,
      maximum: 1_000,
      default: 2,
      description: 'A cached entry is served stale, while one refresh runs, until ttl x this factor; never after.',
    }),
  },
  { additionalProperties: false, description: 'Process-wide settings.' },
);

/** Keys of [mariadb] and [postgres] for TLS towards clients. */
const CLIENT_TLS_KEYS = {
  tls_mode: Type.Union([Type.Literal('disable'), Type.Literal('allow'), Type.Literal('require')], {
    default: 'allow',
    description:
      'TLS towards clients. allow: offered when tls_cert_file and tls_key_file are set, plaintext accepted too; require: plaintext logins are refused (needs the certificate); disable: never offered.',
  }),
  tls_cert_file: Type.String({
    default: '',
    description: 'PEM certificate (chain) the proxy presents to clients; empty for none. Re-read on SIGHUP; open connections keep their session.',
  }),
  tls_key_file: Type.String({
    default: '',
    description: 'PEM private key of tls_cert_file; empty for none. Re-read on SIGHUP.',
  }),
  tls_ca_file: Type.String({
    default: '',
    description: 'PEM CA bundle for client certificates: when set, every TLS client must present a certificate it signed. Empty: no client certificates.',
  }),
};

/** Keys of [mariadb.<name>] and [postgres.<name>] for TLS towards that group's servers. */
const BACKEND_TLS_KEYS = {
  backend_tls: Type.Union(
    [Type.Literal('disable'), Type.Literal('prefer'), Type.Literal('require'), Type.Literal('verify-ca'), Type.Literal('verify-full')],
    {
      default: 'disable',
      description:
        'TLS towards the servers, whatever the client chose. prefer: when the server offers it; require: refuse a server without TLS; verify-ca: also check the certificate against backend_tls_ca_file; verify-full: also check the host name or IP.',
    },
  ),
  backend_tls_ca_file: Type.String({
    default: '',
    description: 'PEM CA bundle for verify-ca and verify-full; empty for the system CAs. Read when a connection opens.',
  }),
};

function protocolSection<Extra extends Record<string, TSchema>>(protocol: string, listenDefault: string, extra: Extra) {
  return Type.Object(
    {
      listen: Type.String({
        format: LISTEN_ADDRESS,
        default: listenDefault,
        restart: true,
        description: `Address clients connect to (${protocol} protocol). Loopback by default, as the database servers' own packages do; set :port (every interface) or a host address to serve other machines. ${RESTART}`,
      }),
      socket: Type.String({
        maxLength: UNIX_PATH_MAX_BYTES,
        default: '',
        restart: true,
        description: `Optional unix socket path to listen on as well; empty for none. ${RESTART}`,
      }),
      default: Type.String({
        format: NAME,
        default: 'main',
        description: `Backend group for databases no group lists; must name a [${protocol}.<name>] group.`,
      }),
      max_packet_size: Type.Integer({
        minimum: 1024,
        maximum: 1_073_741_824,
        default: 67_108_864,
        description: 'Largest client packet (bytes, after joining continuation packets); larger ones get an error and the client is closed.',
      }),
      max_client_connections: Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: 0,
        description:
          'Client connections served at once; one more gets error 1040 "Too many connections" from the proxy. 0 = automatic: (open-file limit - 64) / 2, since each client also holds a backend socket; a larger value is lowered to that with a warning.',
      }),
      max_pending_handshakes: Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: 1024,
        description: 'Connections between accept and a completed login at once; one more gets error 1040 at once. Bounds what clients that never log in can hold.',
      }),
      handshake_timeout_ms: Type.Integer({
        minimum: 100,
        maximum: 3_600_000,
        default: 10_000,
        description: "Time from the backend's greeting to a completed login; a client still logging in after it is disconnected.",
      }),
      backend_connect_timeout_ms: Type.Integer({
        minimum: 100,
        maximum: 3_600_000,
        default: 5_000,
        description: "Time for a new client's backend connection to connect and greet; after it, the client gets an error naming the backend.",
      }),
      writebatch_enabled: Type.Boolean({
        default: false,
        description: 'Batch every eligible autocommit write. /* batch:N */ (N > 0) batches a write even when false; /* batch:0 */ never does.',
      }),
      writebatch_initial_delay_ms: Type.Integer({
        minimum: 1,
        maximum: 60_000,
        default: 10,
        description: 'Batching delay at start-up, between writebatch_min_delay_ms and writebatch_max_delay_ms.',
      }),
      writebatch_max_delay_ms: Type.Integer({
        minimum: 1,
        maximum: 60_000,
        default: 100,
        description: 'Upper bound of the adaptive batching delay.',
      }),
      writebatch_min_delay_ms: Type.Integer({
        minimum: 1,
        maximum: 60_000,
        default: 1,
        description: 'Lower bound of the adaptive batching delay (at least 1, so it never sticks at 0).',
      }),
      writebatch_max_batch_size: Type.Integer({
        minimum: 1,
        maximum: 100_000,
        default: 1000,
        description: 'A batch that reaches this many writes is sent at once.',
      }),
      writebatch_write_threshold: Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e9,
        default: 1000,
        description: 'Batched writes per second above which the delay grows by the step; below half of it, it shrinks.',
      }),
      writebatch_adaptive_step: Type.Number({
        exclusiveMinimum: 1,
        maximum: 100,
        default: 1.5,
        description: 'Factor the delay is multiplied or divided by at each adjustment.',
      }),
      writebatch_metrics_interval: Type.Integer({
        minimum: 1,
        maximum: 86_400,
        default: 60,
        description: 'Seconds between throughput measurements and delay adjustments.',
      }),
      writebatch_timeout_ms: Type.Integer({
        minimum: 1,
        maximum: 3_600_000,
        default: 30_000,
        description: 'A queued write still unsent after this long gets an error and is never executed.',
      }),
      writebatch_max_concurrent_batches: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 1,
        description: 'Batches of one statement template that run at once before gathered writes wait for one to finish (a write that waited its whole delay still leaves, up to twice this). 1: classic group commit, the largest batches.',
      }),
      writebatch_probe_interval_ms: Type.Integer({
        minimum: 0,
        maximum: 3_600_000,
        default: 5000,
        description: 'How often each template tries the mode it is not in (batched or alone) for a moment; a template whose writes are faster alone runs them alone. 0: always batch.',
      }),
      ...extra,
    },
    { additionalProperties: false, description: `${protocol} front end: listener, default group and write batching.` },
  );
}

function groupSection<Extra extends Record<string, TSchema>>(protocol: string, extra: Extra) {
  return Type.Object(
    {
      primary: Type.String({
        format: BACKEND_ADDRESS,
        description: `The ${protocol} server that takes writes (required).`,
      }),
      replicas: Type.Array(Type.String({ format: BACKEND_ADDRESS }), {
        default: [],
        list: true,
        description: 'Comma-separated read replicas; empty for none.',
      }),
      databases: Type.Array(Type.String({ format: DATABASE }), {
        default: [],
        list: true,
        description: 'Comma-separated databases routed to this group; the default group takes the rest.',
      }),
      ...extra,
    },
    { additionalProperties: false, description: `A ${protocol} backend group (shard): [${protocol}.<name>].` },
  );
}

export const MariadbSection = protocolSection('mariadb', '127.0.0.1:3307', CLIENT_TLS_KEYS);
export const PostgresSection = protocolSection('postgres', '127.0.0.1:5433', CLIENT_TLS_KEYS);
export const MariadbGroupSection = groupSection('mariadb', BACKEND_TLS_KEYS);
export const PostgresGroupSection = groupSection('postgres', BACKEND_TLS_KEYS);

export type ProxySectionValues = Static<typeof ProxySection>;
export type ProtocolSectionValues = Static<typeof PostgresSection>;
export type GroupSectionValues = Static<typeof PostgresGroupSection>;

export { ProxySection };

export type ProtocolName = 'mariadb' | 'postgres';
export const PROTOCOLS: readonly ProtocolName[] = ['mariadb', 'postgres'];

/** Schemas by section kind; `group` sections are `[<protocol>.<name>]`. */
export const SECTION_SCHEMAS = {
  proxy: ProxySection,
  mariadb: MariadbSection,
  postgres: PostgresSection,
  'mariadb.<name>': MariadbGroupSection,
  'postgres.<name>': PostgresGroupSection,
} as const satisfies Record<string, TObject>;

export function protocolSchema(protocol: ProtocolName): TObject {
  return protocol === 'mariadb' ? MariadbSection : PostgresSection;
}

export function groupSchema(protocol: ProtocolName): TObject {
  return protocol === 'mariadb' ? MariadbGroupSection : PostgresGroupSection;
}

/**
 * The backend group that exists when a protocol is enabled and the file
 * defines none of its groups, so the proxy runs with no file at all.
 * `[postgres]` alone is enough to get `[postgres.main]`.
 */
export const BUILT_IN_GROUP: Readonly<Record<ProtocolName, { name: string; primary: string }>> = {
  mariadb: { name: 'main', primary: '127.0.0.1:3306' },
  postgres: { name: 'main', primary: '127.0.0.1:5432' },
};

/** Whether a key only takes effect at start-up. */
export function needsRestart(schema: TSchema): boolean {
  return schema['restart'] === true;
}

/** Whether a key is a comma-separated list in INI. */
export function isListKey(schema: TSchema): boolean {
  return schema['list'] === true;
}

export function keysOf(section: TObject): string[] {
  return Object.keys(section.properties);
}

const FORMAT_EXPECTED: Readonly<Record<string, string>> = {
  [LISTEN_ADDRESS]: ADDRESS_EXPECTED.listen,
  [BACKEND_ADDRESS]: ADDRESS_EXPECTED.backend,
  [NAME]: 'a name of letters, digits, _ and - (at most 64)',
  [DATABASE]: 'a database name without spaces, commas, quotes or slashes (at most 64)',
};

/** What a value for this key must look like, as the end of "expected ...". */
export function expectedText(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'Boolean':
      return 'true or false';
    case 'Integer':
      return `an integer from ${schema['minimum']} to ${schema['maximum']}`;
    case 'Number': {
      const low = schema['exclusiveMinimum'] !== undefined ? `greater than ${schema['exclusiveMinimum']}` : `from ${schema['minimum']}`;
      return `a number ${low} up to ${schema['maximum']}`;
    }
    case 'Union': {
      const options = (schema['anyOf'] as TSchema[]).map((s) => String(s['const']));
      return `one of ${options.join(', ')}`;
    }
    case 'Array':
      return `a comma-separated list of ${expectedText(schema['items'] as TSchema)}`;
    case 'String': {
      const format = schema['format'];
      if (typeof format === 'string' && FORMAT_EXPECTED[format] !== undefined) return FORMAT_EXPECTED[format];
      if (schema['maxLength'] !== undefined) return `a unix socket path of at most ${schema['maxLength']} characters, or empty for none`;
      return 'a string';
    }
    default:
      return 'a valid value';
  }
}

/** The "expected" text for a key the section does not have, with a suggestion when one is close. */
export function unknownKeyExpected(section: TObject, sectionLabel: string, key: string): string {
  const keys = keysOf(section);
  const suggestion = closest(key.toLowerCase(), keys);
  if (suggestion !== null) return `a key of [${sectionLabel}] (did you mean ${suggestion}?)`;
  return `a key of [${sectionLabel}]: ${keys.join(', ')}`;
}

function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}
