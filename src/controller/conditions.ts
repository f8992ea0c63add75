/** Standard conditions (metav1.Condition) helpers shared by the reconcilers. */
import type { Condition } from '../api/index.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Sets one condition; lastTransitionTime changes only when the status does (so a reconcile
 * that changes nothing writes nothing). Returns a new list.
 */
export function setCondition(list: Condition[] | undefined, c: ConditionInput, generation: number | undefined, now: string): Condition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? out[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: truncate(c.message, 4000),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
    observedGeneration: generation ?? 0,
  };
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

export function getCondition(list: Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `…${s.slice(s.length - max + 1)}`;
}

/** Seconds-precision RFC 3339, as metav1.Time serialises. */
export function isoNow(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Structural equality of JSON values (status change detection). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)]));
  }
  return v;
}
