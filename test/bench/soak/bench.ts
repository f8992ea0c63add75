/**
 * `make bench-soak`: the prediction server held at 70% of its measured maximum throughput for
 * ETAOPS_SOAK_SECONDS (default 600) on 127.0.0.1.
 *
 *   1. The server (test/bench/serve/targets.js, its own process) is started on a model trained
 *      on the DoorDash sample (or 24k generated orders when the sample is absent).
 *   2. Its maximum: autocannon, 8 connections, ETAOPS_SOAK_MAX_SECONDS (default 10) after a
 *      3 s warm-up.
 *   3. The hold: autocannon at overallRate = 70% of that maximum for ETAOPS_SOAK_SECONDS. Every
 *      interval (1/24 of the hold, 5–30 s) the bench records that interval's requests, p99
 *      latency, errors and non-2xx answers, and the server's RSS and heap used (its /metrics).
 *
 * Memory: at the start of the hold, at 1/3, at 2/3 and at its end the server runs a full GC on
 * request (test/bench/soak/server.ts, SIGUSR2) and reports heap used and RSS right after it.
 * RSS and heap sampled between collections follow V8's sawtooth (tens of MiB of garbage
 * awaiting a major GC), so slopes are taken over the after-GC checkpoints from 1/3 to the end
 * (the first third absorbs start-up: JIT code, pools, metric children).
 *
 * Reported: zero errors (the bench exits 1 otherwise), p99 stability (median interval p99 of
 * the last third / of the first third, with the machine's load average beside it: the CPU is
 * shared), RSS slope after GC (MiB per minute), heap retained per million requests, achieved
 * vs target rate. Results also go to test/bench/results/soak-<time>.json.
 *
 * Bodies: 16 real orders with fixed request ids, cycled. Server-generated ids would fill the
 * recent-prediction memory (kept for /feedback, bounded at 200k rows) for the first minutes of
 * the hold, which is growth by design and would hide a leak; with fixed ids any steady growth
 * is a leak. ETAOPS_SOAK_IDS=server sends no ids instead: the memory fills and then evicts on
 * every request, the steady state of a real server (a Map-based eviction once halved the
 * throughput there; fixed ids never reached it). Let the hold run well past the fill (200k
 * requests) for the slopes, which start at a third of it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startServerProcess, stopServerProcess } from '../server-process.js';
import { trainModel } from '../../../src/ml/model/index.js';
import { writeGeneratedCsv } from '../../../src/ml/generate/index.js';
import { EXAMPLE_ORDER, parseOrders } from '../../../src/server/order-input.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const RESULTS = path.join(ROOT, 'test', 'bench', 'results');
const WORK = path.join(RESULTS, 'soak-work');
const SAMPLE = path.resolve(ROOT, '..', 'shared', 'data', 'doordash_sample.csv');
const SERVER = path.join(ROOT, 'dist', 'test', 'bench', 'soak', 'server.js');

const HOLD_SECONDS = positive('ETAOPS_SOAK_SECONDS', 600);
const MAX_SECONDS = positive('ETAOPS_SOAK_MAX_SECONDS', 10);
const SERVER_IDS = idsMode() === 'server';
const CONNECTIONS = 8;
const LOAD_SHARE = 0.7;
const INTERVAL_SECONDS = Math.min(30, Math.max(5, Math.round(HOLD_SECONDS / 24)));

function idsMode(): 'fixed' | 'server' {
  const v = process.env.ETAOPS_SOAK_IDS ?? 'fixed';
  if (v !== 'fixed' && v !== 'server') throw new Error(`ETAOPS_SOAK_IDS must be 'fixed' or 'server', got '${v}'`);
  return v;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number of seconds > 0, got '${raw}'`);
  return n;
}

function log(line: string): void {
  process.stderr.write(`bench-soak: ${line}\n`);
}

/** What the bench uses of autocannon's run object: a promise of the result that emits per response. */
interface Tracker extends PromiseLike<{ requests: { average: number; total: number }; latency: { p99: number }; errors: number; timeouts: number; non2xx: number }> {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
  on(event: 'reqError', listener: (err: Error) => void): void;
}

interface LoadOptions {
  url: string;
  method: string;
  connections: number;
  duration: number;
  overallRate?: number;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
}

function startLoad(opts: LoadOptions): Tracker {
  return autocannon(opts) as unknown as Tracker;
}

async function ensureModel(): Promise<string> {
  const serveModel = path.join(RESULTS, 'serve-work', 'model');
  if (existsSync(path.join(serveModel, 'model.json'))) return serveModel;
  const dir = path.join(WORK, 'model');
  if (existsSync(path.join(dir, 'model.json'))) return dir;
  let dataUri = SAMPLE;
  if (!existsSync(SAMPLE)) {
    dataUri = path.join(WORK, 'train.csv');
    log('the DoorDash sample is absent: training on 24,000 generated orders');
    await writeGeneratedCsv(dataUri, { rows: 24_000, seed: 7 });
  }
  log(`training the model on ${dataUri}`);
  await trainModel({ dataUri, modelDir: dir, modelName: 'delivery-eta' });
  return dir;
}

/** 16 orders the server accepts (real sample rows when present), each with a fixed request id (or none: SERVER_IDS). */
function soakBodies(): string[] {
  const orders: Record<string, unknown>[] = [];
  if (existsSync(SAMPLE)) {
    const lines = readFileSync(SAMPLE, 'utf8').split('\n');
    const header = lines[0].split(',');
    for (let i = 1; i < lines.length && orders.length < 16; i++) {
      const cells = lines[i].split(',');
      const order: Record<string, string> = {};
      header.forEach((h, j) => { if (cells[j] !== '' && h !== 'actual_delivery_time') order[h] = cells[j]; });
      try {
        parseOrders(order);
        orders.push(order);
      } catch {
        // a row with impossible values: the server would refuse it
      }
    }
  }
  while (orders.length < 16) orders.push({ ...EXAMPLE_ORDER, subtotal: 1000 + 137 * orders.length });
  return orders.map((o, i) => JSON.stringify(SERVER_IDS ? o : { ...o, request_id: `soak-${i}` }));
}

interface AfterGc {
  /** Seconds since the hold started. */
  t: number;
  requests: number;
  heapMiB: number;
  rssMiB: number;
}

/** Asks the server for a full GC and reads heap used and RSS right after it. */
function afterGc(child: ChildProcess): Promise<{ heap: number; rss: number }> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => { child.stdout?.off('data', onData); reject(new Error('the server did not answer the GC request within 30 s')); }, 30_000);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = /heap-after-gc (\d+) rss (\d+)/.exec(seen);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve({ heap: Number(m[1]), rss: Number(m[2]) });
    };
    child.stdout?.on('data', onData);
    child.kill('SIGUSR2');
  });
}

/** The server's RSS and heap used in bytes, from its /metrics. */
async function serverMemory(url: string): Promise<{ rss: number; heapUsed: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2] ?? NaN);
  return { rss: value('process_resident_memory_bytes'), heapUsed: value('nodejs_heap_size_used_bytes') };
}

function requestsOf(bodies: string[]): LoadOptions['requests'] {
  return bodies.map((body) => ({ method: 'POST', path: '/predict', headers: { 'content-type': 'application/json' }, body }));
}

async function measureMax(url: string, bodies: string[]): Promise<{ rps: number; p99: number; errors: number }> {
  const base = { url, method: 'POST', connections: CONNECTIONS, requests: requestsOf(bodies) };
  await startLoad({ ...base, duration: 3 });
  const r = await startLoad({ ...base, duration: MAX_SECONDS });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

interface Interval {
  /** Seconds since the hold started, at the interval's end. */
  t: number;
  requests: number;
  rps: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** The machine's 1-minute load average (2 cores, shared). */
  load1: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

async function hold(url: string, child: ChildProcess, bodies: string[], rate: number): Promise<{ intervals: Interval[]; checkpoints: AfterGc[]; total: { requests: number; errors: number; non2xx: number; timeouts: number } }> {
  const checkpoints: AfterGc[] = [];
  let answered = 0;
  const checkpoint = async (t: number) => {
    const m = await afterGc(child);
    checkpoints.push({ t, requests: answered, heapMiB: m.heap / 1048576, rssMiB: m.rss / 1048576 });
    log(`after a full GC at t=${t}s (${answered} requests): heap ${(m.heap / 1048576).toFixed(2)} MiB, RSS ${(m.rss / 1048576).toFixed(1)} MiB`);
  };
  await checkpoint(0);
  const tracker = startLoad({ url, method: 'POST', connections: CONNECTIONS, duration: HOLD_SECONDS, overallRate: rate, requests: requestsOf(bodies) });
  let latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  tracker.on('response', (_c, status, _b, ms) => {
    answered++;
    latencies.push(ms);
    if (status < 200 || status >= 300) non2xx++;
  });
  tracker.on('reqError', () => { errors++; });
  const intervals: Interval[] = [];
  const started = performance.now();
  let last = started;
  const timer = setInterval(() => {
    const now = performance.now();
    const done = latencies.sort((a, b) => a - b);
    const counts = { errors, non2xx };
    latencies = [];
    errors = 0;
    non2xx = 0;
    void serverMemory(url).then((m) => {
      intervals.push({
        t: Math.round((now - started) / 1000), requests: done.length, rps: done.length / ((now - last) / 1000), p99Ms: quantile(done, 0.99),
        ...counts, rssMiB: m.rss / 1048576, heapUsedMiB: m.heapUsed / 1048576, load1: loadavg()[0],
      });
      last = now;
      const i = intervals[intervals.length - 1];
      log(`t=${i.t}s ${i.rps.toFixed(0)} req/s p99 ${i.p99Ms.toFixed(2)} ms errors ${i.errors} non-2xx ${i.non2xx} RSS ${i.rssMiB.toFixed(1)} MiB heap ${i.heapUsedMiB.toFixed(1)} MiB load ${i.load1.toFixed(1)}`);
    }, (err: unknown) => log(`could not read the server's memory: ${(err as Error).message}`));
  }, INTERVAL_SECONDS * 1000);
  const marks = [1, 2].map((k) => setTimeout(() => {
    checkpoint(Math.round((HOLD_SECONDS * k) / 3)).catch((err: unknown) => log(`GC checkpoint failed: ${(err as Error).message}`));
  }, (HOLD_SECONDS * 1000 * k) / 3));
  const r = await tracker;
  clearInterval(timer);
  marks.forEach(clearTimeout);
  await checkpoint(HOLD_SECONDS);
  return { intervals, checkpoints, total: { requests: r.requests.total, errors: r.errors, non2xx: r.non2xx, timeouts: r.timeouts } };
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  const modelDir = await ensureModel();
  const bodies = soakBodies();
  const server = await startServerProcess('the soak server', process.execPath, [SERVER, modelDir]);
  try {
    log(`server on ${server.url} (model ${modelDir}); measuring its maximum for ${MAX_SECONDS} s with ${CONNECTIONS} connections`);
    const max = await measureMax(`${server.url}`, bodies);
    const rate = Math.max(1, Math.round(max.rps * LOAD_SHARE));
    log(`maximum ${max.rps.toFixed(0)} req/s (p99 ${max.p99} ms, errors ${max.errors}); holding ${rate} req/s (${LOAD_SHARE * 100}%) for ${HOLD_SECONDS} s, sampling every ${INTERVAL_SECONDS} s`);
    const memBefore = await serverMemory(server.url);
    const { intervals, checkpoints, total } = await hold(server.url, server.child, bodies, rate);
    const third = Math.max(1, Math.floor(intervals.length / 3));
    const first = intervals.slice(0, third);
    const lastThird = intervals.slice(-third);
    const p99First = median(first.map((i) => i.p99Ms));
    const p99Last = median(lastThird.map((i) => i.p99Ms));
    const loadFirst = median(first.map((i) => i.load1));
    const loadLast = median(lastThird.map((i) => i.load1));
    // After-GC memory from 1/3 of the hold to its end (start-up growth excluded).
    const steady = checkpoints.filter((c) => c.t >= HOLD_SECONDS / 3 - 1);
    const rssSlope = slope(steady.map((c) => c.t / 60), steady.map((c) => c.rssMiB));
    const from = steady[0];
    const to = steady[steady.length - 1];
    const heapPerMillion = from && to && to.requests > from.requests ? ((to.heapMiB - from.heapMiB) * 1024) / ((to.requests - from.requests) / 1e6) : NaN;
    const achieved = total.requests / HOLD_SECONDS;
    const failures = total.errors + total.non2xx + total.timeouts;
    const lines = [
      '',
      `Soak: etaops serve at ${LOAD_SHARE * 100}% of its measured maximum, ${HOLD_SECONDS} s, ${CONNECTIONS} connections, ${SERVER_IDS ? 'server-generated' : 'fixed'} request ids, 127.0.0.1, ${new Date().toISOString()}`,
      `maximum:        ${max.rps.toFixed(0)} req/s (p99 ${max.p99} ms over ${MAX_SECONDS} s)`,
      `held:           ${achieved.toFixed(0)} req/s achieved of ${rate} targeted; ${total.requests} requests`,
      `errors:         ${failures} (errors ${total.errors}, non-2xx ${total.non2xx}, timeouts ${total.timeouts}) (goal 0)`,
      `p99:            first third ${p99First.toFixed(2)} ms, last third ${p99Last.toFixed(2)} ms, ratio ${(p99Last / p99First).toFixed(2)} (goal <= 1.5); worst interval ${Math.max(...intervals.map((i) => i.p99Ms)).toFixed(2)} ms; machine load average ${loadFirst.toFixed(1)} -> ${loadLast.toFixed(1)} (2 cores, shared)`,
      `after full GC:  ${checkpoints.map((c) => `t=${c.t}s heap ${c.heapMiB.toFixed(2)} MiB RSS ${c.rssMiB.toFixed(1)} MiB`).join('; ')}`,
      `RSS slope:      ${rssSlope.toFixed(3)} MiB/min after GC from 1/3 of the hold to its end (goal ~0); sampled between GCs: ${(memBefore.rss / 1048576).toFixed(1)} MiB before, ${Math.max(...intervals.map((i) => i.rssMiB)).toFixed(1)} MiB highest`,
      `heap retained:  ${heapPerMillion.toFixed(1)} KiB per million requests after GC from 1/3 of the hold to its end (goal ~0)`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    await writeFile(path.join(RESULTS, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({
      holdSeconds: HOLD_SECONDS, intervalSeconds: INTERVAL_SECONDS, connections: CONNECTIONS, max, targetRate: rate, achievedRate: achieved,
      total, p99FirstThirdMs: p99First, p99LastThirdMs: p99Last, loadFirstThird: loadFirst, loadLastThird: loadLast,
      rssSlopeAfterGcMiBPerMin: rssSlope, heapRetainedKiBPerMillionRequests: heapPerMillion, checkpoints, intervals,
    }, null, 2));
    if (failures > 0) process.exitCode = 1;
  } finally {
    await stopServerProcess(server.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-soak failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
