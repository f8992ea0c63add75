/**
 * Local wall-clock hour and weekday in one IANA time zone (US/Pacific for DoorDash markets),
 * DST-correct and cheap per row.
 *
 * Why not `Intl` per row: formatting a date costs microseconds and allocates; a million rows
 * would spend seconds there. Instead we ask `Intl.DateTimeFormat` for the UTC offset only at a
 * handful of instants per calendar year (week starts, then a binary search inside the weeks where
 * the offset changes) and keep the resulting transition list. A row then costs one arithmetic
 * year lookup and a scan over ~2 transitions.
 */

export const PACIFIC_TIME_ZONE = 'America/Los_Angeles';

const HOUR = 3600;
const DAY = 86_400;
const WEEK = 7 * DAY;

interface YearOffsets {
  /** Offset (seconds east of UTC) in force at the start of the year (UTC midnight Jan 1). */
  initial: number;
  /** Instants (epoch seconds) where the offset changes, ascending, with the offset after each. */
  at: number[];
  offset: number[];
}

export class LocalClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly years = new Map<number, YearOffsets>();

  constructor(readonly timeZone: string = PACIFIC_TIME_ZONE) {
    // Throws RangeError for an unknown zone name: fail at construction, not per row.
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** UTC offset in seconds (negative west of Greenwich) at `epochSeconds`; NaN in, NaN out. */
  offsetSeconds(epochSeconds: number): number {
    if (!Number.isFinite(epochSeconds)) return NaN;
    const table = this.yearTable(utcYear(epochSeconds));
    let off = table.initial;
    for (let i = 0; i < table.at.length && epochSeconds >= table.at[i]; i++) off = table.offset[i];
    return off;
  }

  /** Local hour 0..23, NaN for a missing time. */
  hour(epochSeconds: number): number {
    const local = epochSeconds + this.offsetSeconds(epochSeconds);
    if (!Number.isFinite(local)) return NaN;
    return Math.floor(mod(local, DAY) / HOUR);
  }

  /** Local weekday 0 = Sunday .. 6 = Saturday (JavaScript's getUTCDay convention). */
  weekday(epochSeconds: number): number {
    const local = epochSeconds + this.offsetSeconds(epochSeconds);
    if (!Number.isFinite(local)) return NaN;
    // 1970-01-01 was a Thursday (4).
    return mod(Math.floor(local / DAY) + 4, 7);
  }

  /** The offset computed the slow, exact way (one Intl call); used to build tables and in tests. */
  exactOffsetSeconds(epochSeconds: number): number {
    const whole = Math.floor(epochSeconds);
    const parts = this.format.formatToParts(new Date(whole * 1000));
    const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) / 1000;
    return asUtc - whole;
  }

  private yearTable(year: number): YearOffsets {
    let t = this.years.get(year);
    if (!t) {
      t = this.buildYear(year);
      this.years.set(year, t);
    }
    return t;
  }

  private buildYear(year: number): YearOffsets {
    const start = Date.UTC(year, 0, 1) / 1000;
    const end = Date.UTC(year + 1, 0, 1) / 1000;
    const initial = this.exactOffsetSeconds(start);
    const at: number[] = [];
    const offset: number[] = [];
    let prevT = start;
    let prevOff = initial;
    for (let t = Math.min(start + WEEK, end); ; t = Math.min(t + WEEK, end)) {
      const off = this.exactOffsetSeconds(t);
      // Zones change offset at most once a week; more than that (not seen in tzdata) would be
      // missed here, which is why the table is checked against exact offsets in the tests.
      if (off !== prevOff) {
        const change = this.findChange(prevT, t, prevOff);
        at.push(change);
        offset.push(off);
      }
      prevT = t;
      prevOff = off;
      if (t >= end) break;
    }
    return { initial, at, offset };
  }

  /** First second in (lo, hi] whose offset differs from `before`, by binary search. */
  private findChange(lo: number, hi: number, before: number): number {
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.exactOffsetSeconds(mid) === before) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** Calendar year (UTC) of an instant, without allocating a Date. */
function utcYear(epochSeconds: number): number {
  // Days-to-civil (Howard Hinnant's algorithm), year part only.
  const z = Math.floor(epochSeconds / DAY) + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (month <= 2 ? 1 : 0);
}
