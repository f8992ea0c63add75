/**
 * Sorting the finite values of a column, fast: drift tests need sorted columns (KS, Wasserstein,
 * histograms), and a comparison sort of 1M doubles costs ~100–400 ms. Delivery data is almost
 * all whole numbers in a modest range (counts, cents, seconds), so:
 *  - whole numbers spanning at most max(4·n, 65,536) values → counting sort, O(n + range);
 *  - anything else → LSD radix sort on the IEEE-754 bits (4 passes of 16 bits), O(n).
 * NaN and ±Infinity are dropped (they are missing values) and counted.
 */

/** Distinct values (ascending) and their counts, when the counting sort already has them. */
export interface ValueRuns {
  values: Float64Array;
  counts: Float64Array;
}

/** Sorted finite values of `values`, how many were missing, and the value runs when free. */
export function sortFinite(values: Float64Array): { sorted: Float64Array; missing: number; runs?: ValueRuns } {
  const n = values.length;
  let finite = 0;
  let min = Infinity;
  let max = -Infinity;
  let allIntegers = true;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v - v !== 0) continue; // NaN or ±Infinity
    finite++;
    if (v < min) min = v;
    if (v > max) max = v;
    if (allIntegers && Math.floor(v) !== v) allIntegers = false;
  }
  const missing = n - finite;
  if (finite === 0) return { sorted: new Float64Array(0), missing };
  const range = max - min;
  if (allIntegers && range <= Math.max(4 * finite, 65536)) return { ...countingSort(values, finite, min, range), missing };
  const packed = new Float64Array(finite);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v - v === 0) packed[j++] = v === 0 ? 0 : v; // -0 and 0 sort as equal
  }
  return { sorted: finite < 512 ? packed.sort() : radixSort(packed), missing };
}

function countingSort(values: Float64Array, finite: number, min: number, range: number): { sorted: Float64Array; runs: ValueRuns } {
  const counts = new Uint32Array(range + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v === 0) counts[v - min]++;
  }
  let distinct = 0;
  for (let b = 0; b <= range; b++) if (counts[b] !== 0) distinct++;
  const runValues = new Float64Array(distinct);
  const runCounts = new Float64Array(distinct);
  const out = new Float64Array(finite);
  let k = 0;
  let r = 0;
  for (let b = 0; b <= range; b++) {
    const c = counts[b];
    if (c === 0) continue;
    out.fill(b + min, k, k + c);
    runValues[r] = b + min;
    runCounts[r++] = c;
    k += c;
  }
  return { sorted: out, runs: { values: runValues, counts: runCounts } };
}

/** LSD radix sort of finite doubles via order-preserving 64-bit keys. */
function radixSort(data: Float64Array): Float64Array {
  const n = data.length;
  const words = new Uint32Array(data.buffer, data.byteOffset, n * 2); // little-endian: [lo, hi]
  let lo = new Uint32Array(n);
  let hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const l = words[2 * i];
    const h = words[2 * i + 1];
    // Negative: flip all bits; positive: flip the sign bit. Unsigned order = numeric order.
    if (h & 0x80000000) {
      lo[i] = ~l >>> 0;
      hi[i] = ~h >>> 0;
    } else {
      lo[i] = l;
      hi[i] = (h | 0x80000000) >>> 0;
    }
  }
  let lo2 = new Uint32Array(n);
  let hi2 = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const key = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(key[i] >>> shift) & 0xffff]++;
    // Skip a pass whose digit is the same everywhere (common for the high bits).
    let skip = false;
    for (let b = 0; b < 65536; b++) {
      if (count[b] === n) skip = true;
      if (count[b] !== 0) break;
    }
    if (skip) continue;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const d = (key[i] >>> shift) & 0xffff;
      const at = count[d]++;
      lo2[at] = lo[i];
      hi2[at] = hi[i];
    }
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  const out = new Float64Array(n);
  const outWords = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const h = hi[i];
    if (h & 0x80000000) {
      outWords[2 * i] = lo[i];
      outWords[2 * i + 1] = (h & 0x7fffffff) >>> 0;
    } else {
      outWords[2 * i] = ~lo[i] >>> 0;
      outWords[2 * i + 1] = ~h >>> 0;
    }
  }
  return out;
}
