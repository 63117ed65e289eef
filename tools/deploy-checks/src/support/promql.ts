/**
 * Just enough PromQL reading to cross-check dashboards and alert rules with
 * the metrics the services register: which series selectors an expression
 * uses (metric name and the label names of its matchers) and which label
 * names its grouping and matching clauses name (`by`, `without`, `on`,
 * `ignoring`, `group_left`, `group_right`). Not a parser: it relies on the
 * expressions being valid (promtool checks the rules; Grafana the panels).
 */
export interface PromqlUse {
  selectors: { metric: string; labels: string[] }[];
  groupingLabels: string[];
}

const NOT_SELECTORS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

export function promqlUses(expr: string): PromqlUse {
  // Label values and regexes say nothing about names: drop their contents.
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const groupingLabels: string[] = [];
  text = text.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, labels: string) => {
      groupingLabels.push(
        ...labels
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean),
      );
      return ' ';
    },
  );
  // Range and subquery durations ([5m], [$__rate_interval]).
  text = text.replace(/\[[^\]]*\]/g, ' ');
  const selectors: PromqlUse['selectors'] = [];
  const token = /(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (const [, name, braces, call] of text.matchAll(token)) {
    if (call && !braces) continue; // a function or an aggregation
    if (NOT_SELECTORS.has(name.toLowerCase())) continue;
    const labels = [...(braces ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map(
      (m) => m[1],
    );
    selectors.push({ metric: name, labels });
  }
  return { selectors, groupingLabels: [...new Set(groupingLabels)] };
}

/** Prometheus text exposition: each family's type, and the label names its samples carry. */
export interface ScrapedFamily {
  type: string;
  labels: Set<string>;
  samples: number;
}

export function parseExposition(text: string): Map<string, ScrapedFamily> {
  const families = new Map<string, ScrapedFamily>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      families.set(type[1], { type: type[2], labels: new Set(), samples: 0 });
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const family = familyOf(sample[1], families);
    if (!family) continue;
    family.samples++;
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g))
      family.labels.add(m[1]);
  }
  return families;
}

/** The family a series name belongs to (`x_bucket` of histogram `x`, ...). */
export function familyOf(
  series: string,
  families: Map<string, ScrapedFamily>,
): ScrapedFamily | undefined {
  const exact = families.get(series);
  if (exact) return exact;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (!suffix) return undefined;
  const family = families.get(suffix[1]);
  if (family?.type === 'histogram') return family;
  if (family?.type === 'summary' && suffix[2] !== 'bucket') return family;
  return undefined;
}
