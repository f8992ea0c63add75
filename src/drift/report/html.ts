/**
 * The drift report as one self-contained HTML page: inline CSS, a few lines of inline JS (table
 * sorting), inline SVG charts; a Content-Security-Policy forbids any network fetch. Every
 * string from data (column names, categories, model name) is escaped.
 */
import type { ColumnDrift, DriftResult } from '../check.js';
import { columnChart, CURRENT_COLOR, REFERENCE_COLOR } from './charts.js';
import { escapeHtml as e } from './escape.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.banner{padding:18px 24px;color:#fff}
.banner h1{margin:0;font-size:22px}.banner p{margin:4px 0 0;opacity:.92}
.banner.drift{background:#b3261e}.banner.ok{background:#1e7d32}
table{border-collapse:collapse;width:100%;background:#fff;margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:6px 10px;border-bottom:1px solid #e4e6ea;text-align:left;white-space:nowrap}
th{background:#eef0f3;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drifted td.flag{color:#b3261e;font-weight:600}tr.ok td.flag{color:#1e7d32}
section.column{background:#fff;margin:14px 0;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
section.column h2{font-size:16px;margin:0 0 4px}section.column p{margin:2px 0;color:#4a5060}
.tick{font-size:10px;fill:#4a5060}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-2px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;color:#fff}.badge.drift{background:#b3261e}.badge.ok{background:#1e7d32}
`;

// Sorts the summary table by the clicked column; numbers by value (missing last), text by name.
const JS = `
(function(){
  var table=document.getElementById('columns');
  var heads=table.querySelectorAll('th[data-key]');
  heads.forEach(function(th){th.addEventListener('click',function(){
    var key=th.getAttribute('data-key'),type=th.getAttribute('data-type');
    var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
    heads.forEach(function(h){h.removeAttribute('aria-sort');});
    th.setAttribute('aria-sort',dir);
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=a.getAttribute('data-'+key),y=b.getAttribute('data-'+key);
      if(type==='number'){
        var xm=x===''||x===null,ym=y===''||y===null;
        if(xm||ym)return xm===ym?0:(xm?1:-1);
        var d=parseFloat(x)-parseFloat(y);return dir==='ascending'?d:-d;
      }
      var c=x<y?-1:x>y?1:0;return dir==='ascending'?c:-c;
    });
    rows.forEach(function(r){body.appendChild(r);});
  });});
})();
`;

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const score = (v: number | null): string => (v === null ? '—' : Math.abs(v) < 1e-4 && v !== 0 ? v.toExponential(2) : v.toFixed(4));
const TEST_LABEL: Record<string, string> = {
  ks: 'Kolmogorov–Smirnov p-value',
  chisquare: 'chi-square p-value',
  z: 'Z-test p-value',
  wasserstein: 'Wasserstein distance (normed)',
  jensenshannon: 'Jensen–Shannon distance',
  psi: 'PSI',
};

function row(name: string, c: ColumnDrift): string {
  const attr = (k: string, v: string | number | null): string => `data-${k}="${v === null ? '' : e(String(v))}"`;
  return `<tr class="${c.drifted ? 'drifted' : 'ok'}" ${attr('name', name)} ${attr('type', c.type)} ${attr('test', c.test)} ${attr('score', c.score)} ${attr('threshold', c.threshold)} ${attr('drifted', c.drifted ? 1 : 0)} ${attr('refmissing', c.reference_missing_share)} ${attr('curmissing', c.current_missing_share)}>
<td><a href="#col-${e(encodeURIComponent(name))}">${e(name)}</a></td><td>${e(c.type)}</td><td>${e(c.test)}</td><td class="num">${score(c.score)}</td><td class="num">${c.threshold}</td><td class="flag">${c.drifted ? 'drift' : 'no drift'}</td><td class="num">${pct(c.reference_missing_share)}</td><td class="num">${pct(c.current_missing_share)}</td></tr>`;
}

function section(name: string, c: ColumnDrift): string {
  const outside: string[] = [];
  for (const [who, d] of [['reference', c.reference], ['current', c.current]] as const) {
    if (d.kind === 'histogram' && d.below_share + d.above_share > 0) {
      outside.push(`${who}: ${pct(d.below_share)} below and ${pct(d.above_share)} above the drawn range`);
    }
  }
  const effect = c.effect_threshold !== null && c.effect !== null ? ` · effect size ${score(c.effect)} (needs ≥ ${c.effect_threshold})` : '';
  return `<section class="column" id="col-${e(encodeURIComponent(name))}">
<h2>${e(name)} <span class="badge ${c.drifted ? 'drift' : 'ok'}">${c.drifted ? 'drift' : 'no drift'}</span></h2>
<p>${e(TEST_LABEL[c.test] ?? c.test)}: <b>${score(c.score)}</b> (threshold ${c.threshold})${e(effect)} · values: reference ${c.reference_count}, current ${c.current_count} · missing: reference ${pct(c.reference_missing_share)}, current ${pct(c.current_missing_share)}</p>
${c.note ? `<p><b>${e(c.note)}</b></p>` : ''}${outside.length ? `<p>${e(outside.join('; '))}</p>` : ''}
${columnChart(name, c.reference, c.current)}
</section>`;
}

const seconds = (v: number | null): string => (v === null ? '—' : `${v.toFixed(1)} s`);

function accuracySection(r: DriftResult): string {
  const a = r.accuracy;
  if (!a) return '';
  const line = (name: string, s: { count: number; mae: number | null; rmse: number | null; bias: number | null }): string =>
    `<tr><td>${e(name)}</td><td class="num">${s.count}</td><td class="num">${seconds(s.mae)}</td><td class="num">${seconds(s.rmse)}</td><td class="num">${seconds(s.bias)}</td></tr>`;
  return `<section class="column" id="accuracy"><h2>Prediction accuracy (current window)</h2>
<p>Predictions with a known delivery time; bias = mean(prediction − actual), positive = predicted too late.${a.unpaired ? ` ${a.unpaired} rows without an actual are left out.` : ''}</p>
<table><thead><tr><th>market</th><th>orders</th><th>MAE</th><th>RMSE</th><th>bias</th></tr></thead><tbody>
${line('all', a.overall)}
${Object.entries(a.by_market).map(([m, s]) => line(m, s)).join('\n')}
</tbody></table></section>`;
}

export function driftReportHtml(r: DriftResult): string {
  const cols = Object.entries(r.columns);
  const verdict = r.dataset_drift ? 'Dataset drift detected' : 'No dataset drift';
  const detail = `${r.number_of_drifted_columns} of ${r.number_of_columns} columns drifted (${pct(r.drift_share)}; dataset drift at ≥ ${pct(r.drift_share_threshold)})`;
  const ref = r.reference.source === 'profile' ? `training profile of ${r.reference.rows} rows` : `${r.reference.rows} rows`;
  const skipped = Object.entries(r.skipped_columns);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(`${verdict}${r.model ? ` · ${r.model}` : ''} · etaops drift report`)}</title>
<style>${CSS}</style></head>
<body>
<header class="banner ${r.dataset_drift ? 'drift' : 'ok'}" id="verdict"><h1>${e(verdict)}</h1><p>${e(detail)}</p></header>
<main>
<p>${r.model ? `Model <b>${e(r.model)}</b> · ` : ''}reference: ${e(ref)} · current: ${r.current.rows} rows · rule: ${e(r.rule)} · generated ${e(r.generated_at)}</p>
<p class="legend"><span style="background:${REFERENCE_COLOR}"></span>reference<span style="background:${CURRENT_COLOR}"></span>current</p>
<table id="columns"><thead><tr>
<th data-key="name" data-type="text">Column</th><th data-key="type" data-type="text">Type</th><th data-key="test" data-type="text">Test</th><th data-key="score" data-type="number">Score</th><th data-key="threshold" data-type="number">Threshold</th><th data-key="drifted" data-type="number">Drift</th><th data-key="refmissing" data-type="number">Missing (ref)</th><th data-key="curmissing" data-type="number">Missing (cur)</th>
</tr></thead><tbody>
${cols.map(([n, c]) => row(n, c)).join('\n')}
</tbody></table>
${accuracySection(r)}
${skipped.length ? `<p>Not compared: ${skipped.map(([n, why]) => `${e(n)} (${e(why)})`).join(', ')}</p>` : ''}
${cols.map(([n, c]) => section(n, c)).join('\n')}
</main>
<script>${JS}</script>
</body></html>
`;
}
