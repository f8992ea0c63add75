/**
 * Named drift scenarios: each turns the calibrated parameters into shifted ones, so a data set
 * generated with `--shift NAME` differs from the baseline in a known, documented way (tests
 * check that each moves what it says). Stores are drawn from the seed alone, so a baseline and a
 * shifted set with the same seed share their store universe.
 */
import { HOUR_SHARES, MARKETS } from './calibration.js';

export interface GeneratorParams {
  /** Orders by UTC hour (weights). */
  hourShares: number[];
  /** Per market (MARKETS order): multiplier of dashers on shift. */
  onshiftScale: number[];
  /** Per market: multiplier of outstanding orders per busy dasher. */
  outstandingScale: number[];
  /** Multiplier of every item price (and so of subtotals). */
  priceFactor: number;
  /** A cuisine absent from the sample, with its own new stores. */
  newCuisine: { name: string; share: number; stores: number; durationEffect: number } | null;
  /** Multiplier of the actual delivery duration with inputs unchanged (concept drift). */
  durationFactor: number;
}

export function baselineParams(): GeneratorParams {
  return {
    hourShares: HOUR_SHARES.slice(),
    onshiftScale: MARKETS.map(() => 1),
    outstandingScale: MARKETS.map(() => 1),
    priceFactor: 1,
    newCuisine: null,
    durationFactor: 1,
  };
}

export interface Scenario {
  name: string;
  description: string;
  apply(p: GeneratorParams): GeneratorParams;
}

const BUSY_MARKET = MARKETS.indexOf('2');

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'busy-market',
    description: "market 2 runs short of dashers: 40% fewer on shift and 60% more outstanding orders per busy dasher, so its deliveries take longer",
    apply: (p) => ({
      ...p,
      onshiftScale: p.onshiftScale.map((s, i) => (i === BUSY_MARKET ? s * 0.6 : s)),
      outstandingScale: p.outstandingScale.map((s, i) => (i === BUSY_MARKET ? s * 1.6 : s)),
    }),
  },
  {
    name: 'price-inflation',
    description: 'every item price, and so every subtotal, is 25% higher',
    apply: (p) => ({ ...p, priceFactor: p.priceFactor * 1.25 }),
  },
  {
    name: 'new-cuisine',
    description: "15% of orders come from 300 new stores of a cuisine never seen in the sample ('poke'), slower to prepare (+12% duration)",
    apply: (p) => ({ ...p, newCuisine: { name: 'poke', share: 0.15, stores: 300, durationEffect: Math.log(1.12) } }),
  },
  {
    name: 'late-night',
    description: 'a late-night service: 25% of orders move to 06:00-10:59 UTC (22:00-02:59 US/Pacific), when few dashers are on shift',
    apply: (p) => {
      const total = p.hourShares.reduce((s, w) => s + w, 0);
      const hours = p.hourShares.map((w) => (w / total) * 0.75);
      for (let h = 6; h <= 10; h++) hours[h] += 0.25 / 5;
      return { ...p, hourShares: hours };
    },
  },
  {
    name: 'slow-traffic',
    description: 'deliveries take 20% longer while every input looks the same (concept drift: only the target moves)',
    apply: (p) => ({ ...p, durationFactor: p.durationFactor * 1.2 }),
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/** The parameters of a named scenario (undefined / 'none' = the calibrated baseline). */
export function scenarioParams(name?: string): GeneratorParams {
  if (name === undefined || name === 'none') return baselineParams();
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new RangeError(`unknown drift scenario '${name}': choose one of ${SCENARIO_NAMES.join(', ')}`);
  return s.apply(baselineParams());
}
