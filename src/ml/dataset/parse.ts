/**
 * Parsing of one value: the single definition of how etaops reads a timestamp or a number, used
 * by the CSV reader (byte form, no string per field), the Postgres source and the prediction
 * server's JSON validation (string form). Everyone parses the same way.
 *
 * Timestamps: `YYYY-MM-DD[ T]HH:MM[:SS[.fff]]` with an optional `Z` or `±HH[[:]MM]` offset;
 * without an offset the text is UTC (the DoorDash data set's convention). A date alone
 * (`YYYY-MM-DD`) means midnight UTC. Result: epoch seconds (fractions kept), NaN if invalid.
 *
 * Numbers: optional sign, digits, optional fraction, optional exponent, surrounding spaces
 * allowed. Nothing else ("NaN", "inf", "1,000", "$5") parses. Empty text is "missing", which
 * the callers tell apart from "invalid" before calling.
 */

const ZERO = 48;
const NINE = 57;
const SPACE = 32;
const TAB = 9;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil: writes [year, month, day] into `out`. */
export function civilFromDays(days: number, out: Int32Array | number[]): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out[1] = month;
  out[2] = day;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Reads `n` decimal digits at `p`; -1 if any is not a digit or the text is too short. */
function digits(buf: Uint8Array, p: number, n: number, end: number): number {
  if (p + n > end) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[p + i];
    if (c < ZERO || c > NINE) return -1;
    v = v * 10 + (c - ZERO);
  }
  return v;
}

/** Parses a UTC timestamp from bytes [start, end). Returns epoch seconds or NaN. */
export function parseTimestampBytes(buf: Uint8Array, start: number, end: number): number {
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  let p = start;
  const year = digits(buf, p, 4, end);
  if (year < 0 || buf[p + 4] !== 45 /* - */) return NaN;
  const month = digits(buf, p + 5, 2, end);
  if (month < 1 || month > 12 || buf[p + 7] !== 45) return NaN;
  const day = digits(buf, p + 8, 2, end);
  if (day < 1 || day > daysInMonth(year, month)) return NaN;
  p += 10;
  const days = daysFromCivil(year, month, day);
  if (p === end) return days * 86400;
  if (buf[p] !== SPACE && buf[p] !== 84 /* T */) return NaN;
  const hour = digits(buf, p + 1, 2, end);
  if (hour < 0 || hour > 23 || buf[p + 3] !== 58 /* : */) return NaN;
  const minute = digits(buf, p + 4, 2, end);
  if (minute < 0 || minute > 59) return NaN;
  p += 6;
  let second = 0;
  if (p < end && buf[p] === 58) {
    second = digits(buf, p + 1, 2, end);
    if (second < 0 || second > 60) return NaN; // 60: a leap second as some systems print it
    p += 3;
  }
  let fraction = 0;
  if (p < end && buf[p] === 46 /* . */) {
    p++;
    let scale = 0.1;
    const from = p;
    while (p < end && buf[p] >= ZERO && buf[p] <= NINE) {
      fraction += (buf[p] - ZERO) * scale;
      scale /= 10;
      p++;
    }
    if (p === from) return NaN;
  }
  let offsetSeconds = 0;
  if (p < end) {
    const c = buf[p];
    if ((c === 90 /* Z */ || c === 122 /* z */) && p + 1 === end) {
      p++;
    } else if (c === 43 /* + */ || c === 45 /* - */) {
      const sign = c === 43 ? 1 : -1;
      const oh = digits(buf, p + 1, 2, end);
      if (oh < 0 || oh > 23) return NaN;
      p += 3;
      let om = 0;
      if (p < end) {
        if (buf[p] === 58) p++;
        om = digits(buf, p, 2, end);
        if (om < 0 || om > 59) return NaN;
        p += 2;
      }
      offsetSeconds = sign * (oh * 3600 + om * 60);
    }
    if (p !== end) return NaN;
  }
  return days * 86400 + hour * 3600 + minute * 60 + second + fraction - offsetSeconds;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const latin1 = new TextDecoder('latin1');

/** Parses a decimal number from bytes [start, end). Returns NaN if the text is not a number. */
export function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  let p = start;
  let negative = false;
  if (p < end && (buf[p] === 45 || buf[p] === 43)) {
    negative = buf[p] === 45;
    p++;
  }
  // Fast path: up to 15 significant digits and a short fraction are exact in a double, so
  // mantissa / 10^k is correctly rounded. Anything longer or with an exponent goes to Number().
  let mantissa = 0;
  let nDigits = 0;
  while (p < end && buf[p] >= ZERO && buf[p] <= NINE) {
    mantissa = mantissa * 10 + (buf[p] - ZERO);
    nDigits++;
    p++;
  }
  let fracDigits = 0;
  if (p < end && buf[p] === 46) {
    p++;
    while (p < end && buf[p] >= ZERO && buf[p] <= NINE) {
      mantissa = mantissa * 10 + (buf[p] - ZERO);
      fracDigits++;
      p++;
    }
  }
  if (nDigits + fracDigits === 0) return NaN;
  if (p === end && nDigits + fracDigits <= 15) {
    const v = fracDigits === 0 ? mantissa : mantissa / POW10[fracDigits];
    return negative ? -v : v;
  }
  if (p < end && buf[p] !== 101 && buf[p] !== 69) return NaN; // only an exponent may follow
  const text = latin1.decode(buf.subarray(start, end));
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return NaN;
  const v = Number(text);
  return Number.isFinite(v) ? v : NaN;
}

const scratch = new Uint8Array(128);

/**
 * Copies ASCII text into the scratch buffer; -1 if too long or not ASCII (never valid then).
 * Char by char: the check reads every char anyway, and a TextEncoder call costs more than the copy.
 */
function toScratch(text: string): number {
  if (text.length > scratch.length) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) return -1;
    scratch[i] = c;
  }
  return text.length;
}

/** Parses a UTC timestamp text ("2015-02-06 22:24:17"; see module doc). Epoch seconds or NaN. */
export function parseTimestampUtc(text: string): number {
  const n = toScratch(text);
  return n < 0 ? NaN : parseTimestampBytes(scratch, 0, n);
}

/** Parses a number text exactly as the CSV reader does. NaN if it is not a number. */
export function parseNumber(text: string): number {
  const n = toScratch(text);
  return n < 0 ? NaN : parseNumberBytes(scratch, 0, n);
}

/** Is the text empty or only spaces, i.e. a missing value? */
export function isMissingText(text: string | null | undefined): boolean {
  return text === null || text === undefined || text.trim() === '';
}

const civil = new Int32Array(3);

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Formats epoch seconds as the data set's UTC text "YYYY-MM-DD HH:MM:SS" (whole seconds). */
export function formatTimestampUtc(epochSeconds: number): string {
  const s = Math.floor(epochSeconds);
  const days = Math.floor(s / 86400);
  const rest = s - days * 86400;
  civilFromDays(days, civil);
  const hh = Math.floor(rest / 3600);
  const mm = Math.floor((rest % 3600) / 60);
  const ss = rest % 60;
  return `${String(civil[0]).padStart(4, '0')}-${pad2(civil[1])}-${pad2(civil[2])} ${pad2(hh)}:${pad2(mm)}:${pad2(ss)}`;
}
