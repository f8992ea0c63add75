/**
 * The HTML drift report in a real headless Chromium: it renders, the verdict banner says what
 * the JSON says, one chart per column, sorting by score works on click, no console errors, no
 * network requests, and hostile column/category names stay text.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { accuracyReport } from '../../src/drift/accuracy.js';
import { runDriftCheck } from '../../src/drift/check.js';
import type { ColumnSource } from '../../src/drift/columns.js';
import { driftReportHtml } from '../../src/drift/report/html.js';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE_COLUMN = '<img src=x onerror="window.__pwned=1">';
const HOSTILE_CATEGORY = '"><script>window.__pwned=2</script>';

function windowOf(n: number, shift: number, seed: number): ColumnSource {
  let s = seed;
  const r = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const subtotal = Float64Array.from({ length: n }, () => Math.round(2000 + 1500 * r() + shift * 800));
  const items = Float64Array.from({ length: n }, () => Math.floor(1 + 6 * r()));
  const waits = Float64Array.from({ length: n }, (_, i) => (i % 10 === 0 ? Number.NaN : 300 + 600 * r()));
  const labels = ['american', 'pizza', HOSTILE_CATEGORY];
  const codes = Int32Array.from({ length: n }, () => (r() < 0.5 + shift * 0.3 ? 0 : r() < 0.5 ? 1 : 2));
  return {
    rowCount: n,
    columns: new Map([
      ['subtotal', { type: 'numeric', values: subtotal }],
      ['total_items', { type: 'numeric', values: items }],
      ['estimated_order_place_duration', { type: 'numeric', values: waits }],
      [HOSTILE_COLUMN, { type: 'categorical', codes, labels }],
    ]),
  };
}

describe('drift report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  before(async () => {
    if (!existsSync(CHROMIUM)) execFileSync(path.resolve('hack/ensure-chromium.sh'), { stdio: 'inherit' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    dir = mkdtempSync(path.join(tmpdir(), 'etaops-drift-report-'));
  });
  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('renders verdict, table, charts; sorts by score; no errors, no requests, no injected markup', async () => {
    const accuracy = accuracyReport({
      predictions: Float64Array.from([2400, 2500, 2600, 1800]),
      actuals: Float64Array.from([2300, 2700, 2600, Number.NaN]),
      market: { codes: Int32Array.from([0, 0, 1, 1]), labels: ['1', '<2>'] },
    });
    const result = runDriftCheck({ data: windowOf(3000, 0, 7) }, windowOf(2000, 1, 9), { model: 'eta <b>prod</b>', accuracy });
    const file = path.join(dir, 'drift-report.html');
    writeFileSync(file, driftReportHtml(result));
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    // Anything but the report itself is blocked and recorded.
    await page.route('**/*', async (route) => {
      if (route.request().url() === pathToFileURL(file).href) await route.continue();
      else await route.abort();
    });
    await page.goto(pathToFileURL(file).href);

    const banner = (await page.textContent('#verdict')) ?? '';
    assert.match(banner, result.dataset_drift ? /Dataset drift detected/ : /No dataset drift/);
    assert.match(banner, new RegExp(`${result.number_of_drifted_columns} of ${result.number_of_columns} columns drifted`));
    const names = Object.keys(result.columns);
    assert.equal(await page.locator('svg.chart').count(), names.length, 'one chart per column');
    assert.equal(await page.locator('#columns tbody tr').count(), names.length);
    for (const name of names) {
      assert.equal(await page.locator(`svg.chart[data-column="${name.replace(/["\\]/g, '\\$&')}"] rect`).count() > 0, true, `bars for ${name}`);
    }

    const scores = async (): Promise<number[]> =>
      page.$$eval('#columns tbody tr', (rows) => rows.map((r) => Number.parseFloat(r.getAttribute('data-score') ?? 'NaN')));
    await page.click('th[data-key="score"]');
    const up = await scores();
    assert.deepEqual(up, [...up].sort((a, b) => a - b), 'ascending after one click');
    await page.click('th[data-key="score"]');
    const down = await scores();
    assert.deepEqual(down, [...up].sort((a, b) => b - a), 'descending after two clicks');
    assert.equal(await page.getAttribute('th[data-key="score"]', 'aria-sort'), 'descending');

    // Accuracy table: all + one row per market with actuals.
    assert.equal(await page.locator('#accuracy tbody tr').count(), 3);
    assert.match((await page.textContent('#accuracy')) ?? '', /<2>/);

    // Hostile names are shown as text, never run or parsed as markup.
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.equal(await page.locator('img').count(), 0);
    assert.ok(((await page.textContent('#columns')) ?? '').includes(HOSTILE_COLUMN));
    assert.ok(((await page.textContent('title')) ?? '').includes('eta <b>prod</b>'));

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'the page fetched nothing');
    await page.close();
  });
});
