/**
 * A reader for the Prometheus text exposition format, enough for tests to ask
 * "what is the value of this series" without regex soup.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export interface Sample {
  /** Series name as exposed, e.g. `tqdbproxy_query_latency_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family names declared by `# HELP` / `# TYPE` lines. */
  families: Set<string>;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const match = /^#\s+(?:HELP|TYPE)\s+(\S+)/.exec(line);
      if (match !== null) families.add(match[1]);
      continue;
    }
    samples.push(parseSampleLine(line));
  }
  return { samples, families };
}

/**
 * Sum of the samples named `name` whose labels include every pair in `labels`
 * (extra labels on the sample are allowed). A family that exists but has no
 * matching sample yet (a labelled counter never incremented) gives 0; a name
 * the endpoint does not expose at all throws, so a typo cannot pass as 0.
 */
export function sumSamples(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let isFound = false;
  for (const sample of exposition.samples) {
    if (sample.name !== name) continue;
    isFound = true;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
  }
  if (!isFound && !exposition.families.has(familyOf(name, exposition.families))) {
    throw new Error(`metric ${name} is not exposed`);
  }
  return sum;
}

/** Histogram and summary series carry a suffix that their family name lacks. */
function familyOf(name: string, families: Set<string>): string {
  for (const suffix of ['_bucket', '_count', '_sum', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return name;
}

function parseSampleLine(line: string): Sample {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name: string;
  let labels: Record<string, string> = {};
  let rest: string;
  if (brace !== -1 && (space === -1 || brace < space)) {
    name = line.slice(0, brace);
    const parsed = parseLabels(line, brace + 1);
    labels = parsed.labels;
    rest = line.slice(parsed.end + 1).trim();
  } else {
    if (space === -1) throw new Error(`malformed metrics line: ${line}`);
    name = line.slice(0, space);
    rest = line.slice(space + 1).trim();
  }
  const valueText = rest.split(/\s+/)[0];
  return { name, labels, value: parseValue(valueText, line) };
}

/** Parses `a="x",b="y\"z"}` starting at `start`; returns the labels and the index of `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i };
    const eq = line.indexOf('=', i);
    if (eq === -1 || line[eq + 1] !== '"') throw new Error(`malformed labels in metrics line: ${line}`);
    const key = line.slice(i, eq).trim();
    let value = '';
    i = eq + 2;
    for (;;) {
      const ch = line[i];
      if (ch === undefined) throw new Error(`unterminated label value in metrics line: ${line}`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    labels[key] = value;
    i++;
  }
}

function parseValue(text: string | undefined, line: string): number {
  switch (text) {
    case '+Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
  }
  const value = Number(text);
  if (text === undefined || text === '' || Number.isNaN(value)) throw new Error(`malformed value in metrics line: ${line}`);
  return value;
}
