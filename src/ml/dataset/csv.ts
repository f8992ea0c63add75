/**
 * A streaming CSV record splitter (RFC 4180: commas, "quoted" fields with "" escapes and
 * newlines inside quotes, LF or CRLF line ends, a UTF-8 byte-order mark). It is fed byte chunks
 * and hands each record to a sink as field offsets into a byte buffer: no string per field, no
 * object per row, no splitting the file into lines. Blank lines are skipped.
 */
import { DataError } from './errors.js';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Longest record accepted: guards memory when a binary or one-line file is read by mistake. */
export const MAX_RECORD_BYTES = 16 << 20;

export interface RecordSink {
  /**
   * One record: field i is bytes [starts[i], ends[i]) of buf, for i < count. `line` is the
   * 1-based line where the record starts. The buffer is only valid during the call.
   */
  record(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, line: number): void;
}

const INCOMPLETE = -1;

export class CsvSplitter {
  private pending: Uint8Array | null = null;
  private line = 1;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private escaped = new Uint8Array(64);
  private first = true;

  constructor(private readonly sink: RecordSink, private readonly source: string) {}

  /** Feeds the next chunk; complete records go to the sink. */
  push(chunk: Uint8Array): void {
    // Always a plain Uint8Array view (fs gives Buffers): one object shape keeps the hot loops
    // monomorphic, which V8 optimises far better.
    let buf = Object.getPrototypeOf(chunk) === Uint8Array.prototype ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.pending) {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
      this.pending = null;
    }
    let pos = 0;
    if (this.first) {
      if (buf.length < 3) { this.pending = buf; return; }
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      this.first = false;
    }
    pos = this.drain(buf, pos, false);
    if (pos < buf.length) {
      if (buf.length - pos > MAX_RECORD_BYTES) {
        throw new DataError(`${this.source}: line ${this.line}: a record longer than ${MAX_RECORD_BYTES >> 20} MiB without a line end: not a CSV file, or an unclosed quote`, undefined, this.line);
      }
      this.pending = buf.slice(pos);
    }
  }

  /** Ends the input: a last record without a line end is complete now. */
  end(): void {
    const buf = this.pending;
    this.pending = null;
    if (!buf || buf.length === 0) return;
    let pos = 0;
    if (this.first && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    this.first = false;
    this.drain(buf, pos, true);
  }

  /** Splits records from pos; returns where the first incomplete record starts. */
  private drain(buf: Uint8Array, pos: number, final: boolean): number {
    const n = buf.length;
    while (pos < n) {
      const next = this.scanRecord(buf, pos, final);
      if (next === INCOMPLETE) return pos;
      pos = next;
    }
    return pos;
  }

  /** Scans one record at pos; emits it and returns the offset after it, or INCOMPLETE. */
  private scanRecord(buf: Uint8Array, pos: number, final: boolean): number {
    const n = buf.length;
    let count = 0;
    let p = pos;
    let newlines = 0;
    let anyEscaped = false;
    for (;;) {
      if (count === this.starts.length) this.growFields();
      if (p < n && buf[p] === QUOTE) {
        // Quoted field: runs to a quote not followed by another quote.
        let q = p + 1;
        let esc = 0;
        for (;;) {
          while (q < n && buf[q] !== QUOTE) {
            if (buf[q] === LF) newlines++;
            q++;
          }
          if (q >= n) {
            if (!final) return INCOMPLETE;
            throw new DataError(`${this.source}: line ${this.line}: field ${count + 1} opens a quote that is never closed (truncated file?)`, undefined, this.line);
          }
          if (q + 1 < n && buf[q + 1] === QUOTE) { esc = 1; q += 2; continue; }
          if (q + 1 >= n && !final) return INCOMPLETE; // can't tell "" from " yet
          break;
        }
        this.starts[count] = p + 1;
        this.ends[count] = q;
        this.escaped[count] = esc;
        anyEscaped ||= esc === 1;
        count++;
        p = q + 1;
        if (p < n && buf[p] === CR) {
          if (p + 1 >= n && !final) return INCOMPLETE; // CR LF split across chunks?
          if (p + 1 >= n || buf[p + 1] === LF) p++;
        }
        if (p >= n) { if (!final) return INCOMPLETE; break; }
        if (buf[p] === COMMA) { p++; continue; }
        if (buf[p] === LF) { p++; break; }
        throw new DataError(`${this.source}: line ${this.line + newlines}: field ${count} has text after its closing quote`, undefined, this.line + newlines);
      }
      let q = p;
      while (q < n) {
        const c = buf[q];
        if (c === COMMA || c === LF) break;
        q++;
      }
      if (q >= n && !final) return INCOMPLETE;
      let e = q;
      if (e > p && buf[e - 1] === CR && (q >= n || buf[q] === LF)) e--;
      this.starts[count] = p;
      this.ends[count] = e;
      this.escaped[count] = 0;
      count++;
      if (q >= n) { p = n; break; }
      p = q + 1;
      if (buf[q] === LF) break;
    }
    const line = this.line;
    this.line += 1 + newlines;
    if (count === 1 && this.starts[0] === this.ends[0]) return p; // blank line
    if (anyEscaped) this.unescape(buf, count);
    this.sink.record(buf, this.starts, this.ends, count, line);
    return p;
  }

  /** Turns "" into " inside escaped quoted fields, in place (the record is complete). */
  private unescape(buf: Uint8Array, count: number): void {
    for (let f = 0; f < count; f++) {
      if (!this.escaped[f]) continue;
      let w = this.starts[f];
      for (let r = this.starts[f]; r < this.ends[f]; r++) {
        buf[w++] = buf[r];
        if (buf[r] === QUOTE) r++;
      }
      this.ends[f] = w;
    }
  }

  private growFields(): void {
    const n = this.starts.length * 2;
    if (n > 1 << 16) throw new DataError(`${this.source}: line ${this.line}: more than 65536 fields: not a DoorDash CSV file`, undefined, this.line);
    const s = new Int32Array(n); s.set(this.starts); this.starts = s;
    const e = new Int32Array(n); e.set(this.ends); this.ends = e;
    const x = new Uint8Array(n); x.set(this.escaped); this.escaped = x;
  }
}
