/**
 * A minimal protobuf writer: enough of the wire format (varints, fixed32 floats, length-
 * delimited bytes and nested messages) to emit ONNX ModelProto without a dependency.
 */
const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly view4 = new DataView(new ArrayBuffer(4));
  private static readonly encoder = new TextEncoder();

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer (no BigInt needed below 2^53). */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`protobuf varint needs a non-negative safe integer, got ${value}`);
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  private rawBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.view4.setFloat32(0, value, true);
    this.rawBytes(new Uint8Array(this.view4.buffer.slice(0)));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.rawBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, ProtoWriter.encoder.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated float32 (one length-delimited run of fixed32 values). */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, out);
  }

  /** Packed repeated varints. */
  packedInts(field: number, values: ArrayLike<number>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varint(values[i]);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One field of a protobuf message: a varint's value, a fixed32's 4 bytes, or a length-delimited payload. */
export interface ProtoField {
  no: number;
  wire: number;
  /** Varints: the value. Fixed32 and length-delimited: the bytes (a view, not a copy). */
  value: number | Uint8Array;
}

export class ProtoReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoReadError';
  }
}

/** Reads one unsigned varint at `buf[pos.i]` (up to 2^53; larger values are refused). */
function readVarint(buf: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let mul = 1;
  for (let n = 0; n < 10; n++) {
    if (pos.i >= buf.length) throw new ProtoReadError('truncated varint');
    const b = buf[pos.i++];
    result += (b & 0x7f) * mul;
    if (!(b & 0x80)) {
      if (!Number.isSafeInteger(result)) throw new ProtoReadError('varint beyond 2^53 (a negative or huge integer)');
      return result;
    }
    mul *= 128;
  }
  throw new ProtoReadError('varint too long');
}

/** The fields of a message, in wire order (fixed64 fields are skipped: ONNX's use none we read). */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const key = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === WIRE_VARINT) {
      yield { no, wire, value: readVarint(buf, pos) };
    } else if (wire === 1) {
      pos.i += 8;
    } else if (wire === WIRE_FIXED32 || wire === WIRE_LENGTH_DELIMITED) {
      const len = wire === WIRE_FIXED32 ? 4 : readVarint(buf, pos);
      if (pos.i + len > buf.length) throw new ProtoReadError(`field ${no} runs past the end of its message`);
      yield { no, wire, value: buf.subarray(pos.i, pos.i + len) };
      pos.i += len;
    } else {
      throw new ProtoReadError(`unsupported wire type ${wire} (field ${no})`);
    }
    if (pos.i > buf.length) throw new ProtoReadError(`field ${no} runs past the end of its message`);
  }
}

/** The payloads of every length-delimited field `no` (sub-messages, strings, packed runs). */
export function protoMessages(buf: Uint8Array, no: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of protoFields(buf)) if (f.no === no && f.wire === WIRE_LENGTH_DELIMITED) out.push(f.value as Uint8Array);
  return out;
}

const decoder = new TextDecoder();
export const protoText = (bytes: Uint8Array): string => decoder.decode(bytes);

/** Repeated varints of field `no`, packed or not (a writer may use either). */
export function protoInts(fields: readonly ProtoField[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE_VARINT) out.push(f.value as number);
    else if (f.wire === WIRE_LENGTH_DELIMITED) {
      const run = f.value as Uint8Array;
      const pos = { i: 0 };
      while (pos.i < run.length) out.push(readVarint(run, pos));
    }
  }
  return out;
}

/** Repeated float32s of field `no`, packed or not. */
export function protoFloats(fields: readonly ProtoField[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no || (f.wire !== WIRE_FIXED32 && f.wire !== WIRE_LENGTH_DELIMITED)) continue;
    const b = f.value as Uint8Array;
    if (b.length % 4 !== 0) throw new ProtoReadError(`field ${no}: ${b.length} bytes is not a whole number of float32s`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < b.length; i += 4) out.push(view.getFloat32(i, true));
  }
  return out;
}
