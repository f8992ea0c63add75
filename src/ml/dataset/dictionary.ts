/**
 * A string dictionary keyed by raw bytes: maps a field's bytes to a dense code without making
 * a string per row (a string is decoded only when a new value is first seen). Open addressing
 * over an FNV-1a hash; keys live in one growing byte pool.
 */
const decoder = new TextDecoder('utf-8');

export class ByteDictionary {
  /** Code -> value, the Dataset's `CategoryData.values`. */
  readonly values: string[] = [];
  private readonly valueCode = new Map<string, number>();
  private slots = new Int32Array(64).fill(-1); // -> key index
  private keyStart = new Int32Array(32);
  private keyEnd = new Int32Array(32);
  private keyHash = new Int32Array(32);
  private keyCode = new Int32Array(32);
  private keyCount = 0;
  private pool = new Uint8Array(1024);
  private poolUsed = 0;

  /**
   * @param normalize maps a raw value to its canonical form (e.g. "1.0" -> "1" for id columns
   * written by pandas), so different spellings share one code.
   */
  constructor(private readonly normalize: (raw: string) => string = (s) => s) {}

  get size(): number {
    return this.values.length;
  }

  /** The code of an already-decoded value (adds it if new). */
  codeOf(value: string): number {
    const v = this.normalize(value);
    let code = this.valueCode.get(v);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(v);
      this.valueCode.set(v, code);
    }
    return code;
  }

  /** The code of bytes [start, end) of buf. */
  intern(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const mask = this.slots.length - 1;
    let slot = h & mask;
    const len = end - start;
    for (;;) {
      const k = this.slots[slot];
      if (k < 0) break;
      if (this.keyHash[k] === h && this.keyEnd[k] - this.keyStart[k] === len && this.sameBytes(k, buf, start, len)) return this.keyCode[k];
      slot = (slot + 1) & mask;
    }
    return this.addKey(slot, h, buf, start, end);
  }

  private sameBytes(k: number, buf: Uint8Array, start: number, len: number): boolean {
    const ks = this.keyStart[k];
    for (let i = 0; i < len; i++) if (this.pool[ks + i] !== buf[start + i]) return false;
    return true;
  }

  private addKey(slot: number, h: number, buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (this.poolUsed + len > this.pool.length) {
      const grown = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      grown.set(this.pool.subarray(0, this.poolUsed));
      this.pool = grown;
    }
    if (this.keyCount === this.keyStart.length) {
      const n = this.keyCount * 2;
      this.keyStart = grow(this.keyStart, n);
      this.keyEnd = grow(this.keyEnd, n);
      this.keyHash = grow(this.keyHash, n);
      this.keyCode = grow(this.keyCode, n);
    }
    const k = this.keyCount++;
    this.pool.set(buf.subarray(start, end), this.poolUsed);
    this.keyStart[k] = this.poolUsed;
    this.keyEnd[k] = this.poolUsed + len;
    this.poolUsed += len;
    this.keyHash[k] = h;
    const code = this.codeOf(decoder.decode(buf.subarray(start, end)));
    this.keyCode[k] = code;
    this.slots[slot] = k;
    if (this.keyCount * 2 > this.slots.length) this.rehash();
    return code;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let k = 0; k < this.keyCount; k++) {
      let slot = this.keyHash[k] & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = k;
    }
    this.slots = slots;
  }
}

function grow(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** Ids written as floats by pandas ("1.0") mean the integer id ("1"). */
export function normalizeIdText(raw: string): string {
  return /^\d+\.0+$/.test(raw) ? raw.slice(0, raw.indexOf('.')) : raw;
}
