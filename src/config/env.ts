/**
 * Environment overrides: `TQDBPROXY_<SECTION>_<KEY>`, the section's dots
 * written as underscores and everything upper-cased, e.g.
 * `TQDBPROXY_MARIADB_LISTEN`, `TQDBPROXY_MARIADB_MAIN_PRIMARY`,
 * `TQDBPROXY_PROXY_LOG_LEVEL`.
 *
 * Group names are case-insensitive here, and `_` also matches `-`, because
 * variable names cannot carry either distinction. A variable that names no
 * existing group creates one (named in lower case); a variable that matches
 * two existing groups is rejected as ambiguous.
 */
import { ConfigProblem } from './errors.ts';
import {
  keysOf,
  groupSchema,
  PROTOCOLS,
  protocolSchema,
  ProxySection,
  type ProtocolName,
} from './schema.ts';

export const ENV_PREFIX = 'TQDBPROXY_';

export type EnvTarget =
  | { readonly kind: 'proxy'; readonly key: string }
  | { readonly kind: 'protocol'; readonly protocol: ProtocolName; readonly key: string }
  /** `group` is spelled as in the variable, lower-cased; resolve it with `resolveEnvGroup`. */
  | { readonly kind: 'group'; readonly protocol: ProtocolName; readonly group: string; readonly key: string };

export interface EnvOverride {
  readonly variable: string;
  readonly value: string;
  readonly target: EnvTarget;
}

/** The origin recorded for a value that came from this variable; it leads problem lines. */
export function envOrigin(variable: string): string {
  return `env ${variable}`;
}

/** The variable that overrides `key` in `[section]` (`mariadb.main`, `primary` → `TQDBPROXY_MARIADB_MAIN_PRIMARY`). */
export function envVariableName(section: string, key: string): string {
  return `${ENV_PREFIX}${section.replaceAll('.', '_').replaceAll('-', '_')}_${key}`.toUpperCase();
}

/**
 * Every TQDBPROXY_* variable, classified by what it targets, in name order so
 * problems come out in a stable order. Variables that fit no section or key
 * become problems.
 */
export function readEnvOverrides(env: Record<string, string | undefined>): {
  overrides: EnvOverride[];
  problems: ConfigProblem[];
} {
  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && env[name] !== undefined)
    .sort();

  for (const variable of names) {
    const value = env[variable] as string;
    const rest = variable.slice(ENV_PREFIX.length).toLowerCase();
    const origin = envOrigin(variable);

    if (rest.startsWith('proxy_')) {
      const key = rest.slice('proxy_'.length);
      if (keysOf(ProxySection).includes(key)) {
        overrides.push({ variable, value, target: { kind: 'proxy', key } });
      } else {
        problems.push(
          new ConfigProblem({
            file: origin,
            section: 'proxy',
            key,
            value,
            expected: `a key of [proxy]: ${keysOf(ProxySection).join(', ')}`,
          }),
        );
      }
      continue;
    }

    const protocol = PROTOCOLS.find((p) => rest.startsWith(`${p}_`));
    if (protocol === undefined) {
      problems.push(
        new ConfigProblem({
          file: origin,
          section: '',
          key: '',
          value: null,
          expected: `a variable named ${ENV_PREFIX}PROXY_<KEY>, ${ENV_PREFIX}MARIADB_[<GROUP>_]<KEY> or ${ENV_PREFIX}POSTGRES_[<GROUP>_]<KEY>`,
        }),
      );
      continue;
    }

    const key = rest.slice(protocol.length + 1);
    if (keysOf(protocolSchema(protocol)).includes(key)) {
      overrides.push({ variable, value, target: { kind: 'protocol', protocol, key } });
      continue;
    }
    const groupKey = keysOf(groupSchema(protocol)).find((k) => key.endsWith(`_${k}`) && key.length > k.length + 1);
    if (groupKey !== undefined) {
      const group = key.slice(0, key.length - groupKey.length - 1);
      overrides.push({ variable, value, target: { kind: 'group', protocol, group, key: groupKey } });
      continue;
    }
    problems.push(
      new ConfigProblem({
        file: origin,
        section: protocol,
        key,
        value,
        expected: `a key of [${protocol}] (${keysOf(protocolSchema(protocol)).join(', ')}) or <GROUP>_${keysOf(
          groupSchema(protocol),
        )
          .map((k) => k.toUpperCase())
          .join('|')}`,
      }),
    );
  }
  return { overrides, problems };
}

/**
 * The existing group a variable's group part refers to, or a new name when it
 * matches none. `ambiguous` lists the groups it could mean when it matches
 * more than one.
 */
export function resolveEnvGroup(
  envGroup: string,
  existing: Iterable<string>,
): { readonly name: string; readonly isNew: boolean } | { readonly ambiguous: readonly string[] } {
  const wanted = foldGroupName(envGroup);
  const matches = [...existing].filter((name) => foldGroupName(name) === wanted);
  if (matches.length === 1) return { name: matches[0], isNew: false };
  if (matches.length > 1) return { ambiguous: matches };
  return { name: envGroup, isNew: true };
}

function foldGroupName(name: string): string {
  return name.toLowerCase().replaceAll('-', '_');
}
