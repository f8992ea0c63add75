/**
 * Jensen–Shannon distance (`scipy.spatial.distance.jensenshannon`, natural log: bounded by
 * sqrt(ln 2) ≈ 0.833) and Population Stability Index on two share vectors over the same bins.
 */

/** x·ln(x/y) with scipy.special.rel_entr's conventions. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

export function jensenShannonDistance(p: Float64Array, q: Float64Array): number {
  if (p.length !== q.length) throw new RangeError('jensenShannonDistance needs share vectors of one length');
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0 || sq === 0) return sp === sq ? 0 : Math.sqrt(Math.LN2);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    js += relEntr(a, m) + relEntr(b, m);
  }
  return Math.sqrt(Math.max(0, js / 2));
}

/** Σ (ref − cur)·ln(ref / cur); shares must be zero-filled first (see fillZeroShares). */
export function populationStabilityIndex(reference: Float64Array, current: Float64Array): number {
  if (reference.length !== current.length) throw new RangeError('PSI needs share vectors of one length');
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    const c = current[i];
    psi += (r - c) * Math.log(r / c);
  }
  return psi;
}
