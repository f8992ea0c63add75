/** Reading the controller's /metrics (Prometheus text format) for the operator bench. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses `name{a="x",b="y"} 12.5` lines; comments and blank lines are skipped. */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export type Filter = Record<string, string | ((v: string) => boolean)>;

function matches(s: Sample, f: Filter): boolean {
  for (const [k, want] of Object.entries(f)) {
    const v = s.labels[k] ?? '';
    if (typeof want === 'function' ? !want(v) : v !== want) return false;
  }
  return true;
}

/** Sum of a metric's samples whose labels match. */
export function sum(samples: Sample[], name: string, f: Filter = {}): number {
  return samples.filter((s) => s.name === name && matches(s, f)).reduce((a, s) => a + s.value, 0);
}

/** after - before, per label set, of a counter (labels joined as `k=v,...` in the key). */
export function deltaBy(before: Sample[], after: Sample[], name: string, keyLabels: string[], f: Filter = {}): Map<string, number> {
  const out = new Map<string, number>();
  const add = (list: Sample[], sign: number) => {
    for (const s of list) {
      if (s.name !== name || !matches(s, f)) continue;
      const k = keyLabels.map((l) => s.labels[l] ?? '').join(' ');
      out.set(k, (out.get(k) ?? 0) + sign * s.value);
    }
  };
  add(after, 1);
  add(before, -1);
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

/**
 * Quantile of a histogram's observations between two scrapes, as the upper bound of the bucket
 * it falls in (what Prometheus' histogram_quantile would interpolate inside).
 */
export function histogramQuantile(before: Sample[], after: Sample[], name: string, f: Filter, q: number): number {
  const buckets = deltaBy(before, after, `${name}_bucket`, ['le'], f);
  const rows = [...buckets].map(([le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n })).sort((a, b) => a.le - b.le);
  const total = rows.at(-1)?.n ?? 0;
  if (total === 0) return NaN;
  return rows.find((r) => r.n >= q * total)?.le ?? Infinity;
}

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}
