/**
 * Inline SVG charts of one column: reference and current distributions overlaid on common bins
 * (histogram) or side by side per category. Pure strings, no scripts, every label escaped.
 */
import type { Distribution } from '../check.js';
import { escapeHtml } from './escape.js';

const W = 560;
const H = 180;
const PAD_L = 44;
const PAD_B = 40;
const PAD_T = 10;
const PLOT_W = W - PAD_L - 10;
const PLOT_H = H - PAD_B - PAD_T;
export const REFERENCE_COLOR = '#4c78a8';
export const CURRENT_COLOR = '#f58518';

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
};
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

function frame(maxShare: number, body: string, xLabels: string, name: string): string {
  const y = (s: number): number => PAD_T + PLOT_H - (s / maxShare) * PLOT_H;
  return [
    `<svg class="chart" role="img" aria-label="${escapeHtml(`distribution of ${name}`)}" data-column="${escapeHtml(name)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">`,
    `<line x1="${PAD_L}" y1="${PAD_T + PLOT_H}" x2="${PAD_L + PLOT_W}" y2="${PAD_T + PLOT_H}" stroke="#888"/>`,
    `<line x1="${PAD_L}" y1="${PAD_T}" x2="${PAD_L}" y2="${PAD_T + PLOT_H}" stroke="#888"/>`,
    `<text x="${PAD_L - 4}" y="${y(maxShare) + 4}" text-anchor="end" class="tick">${pct(maxShare)}</text>`,
    `<text x="${PAD_L - 4}" y="${PAD_T + PLOT_H}" text-anchor="end" class="tick">0</text>`,
    body,
    xLabels,
    '</svg>',
  ].join('');
}

function histogramChart(name: string, edges: number[], ref: number[] | null, cur: number[] | null): string {
  const bins = edges.length - 1;
  const maxShare = Math.max(1e-9, ...(ref ?? []), ...(cur ?? []));
  const bw = PLOT_W / bins;
  const bar = (s: number, i: number, color: string, who: string): string => {
    const h = (s / maxShare) * PLOT_H;
    const title = `${who} ${fmt(edges[i])} – ${fmt(edges[i + 1])}: ${pct(s)}`;
    return `<rect x="${(PAD_L + i * bw).toFixed(2)}" y="${(PAD_T + PLOT_H - h).toFixed(2)}" width="${Math.max(0.5, bw - 1).toFixed(2)}" height="${h.toFixed(2)}" fill="${color}" fill-opacity="0.55"><title>${escapeHtml(title)}</title></rect>`;
  };
  let body = '';
  if (ref) body += ref.map((s, i) => bar(s, i, REFERENCE_COLOR, 'reference')).join('');
  if (cur) body += cur.map((s, i) => bar(s, i, CURRENT_COLOR, 'current')).join('');
  const xl = [0, Math.floor(bins / 2), bins]
    .map((i, k) => `<text x="${(PAD_L + i * bw).toFixed(2)}" y="${PAD_T + PLOT_H + 16}" text-anchor="${k === 0 ? 'start' : k === 1 ? 'middle' : 'end'}" class="tick">${escapeHtml(fmt(edges[i]))}</text>`)
    .join('');
  return frame(maxShare, body, xl, name);
}

function categoriesChart(name: string, labels: string[], ref: number[] | null, cur: number[] | null): string {
  const k = labels.length;
  const maxShare = Math.max(1e-9, ...(ref ?? []), ...(cur ?? []));
  const gw = PLOT_W / Math.max(1, k);
  const bw = Math.max(1, gw / 2 - 2);
  let body = '';
  labels.forEach((label, i) => {
    const pair: [number, string, string][] = [];
    if (ref) pair.push([ref[i], REFERENCE_COLOR, 'reference']);
    if (cur) pair.push([cur[i], CURRENT_COLOR, 'current']);
    pair.forEach(([s, color, who], j) => {
      const h = (s / maxShare) * PLOT_H;
      body += `<rect x="${(PAD_L + i * gw + 1 + j * (bw + 1)).toFixed(2)}" y="${(PAD_T + PLOT_H - h).toFixed(2)}" width="${bw.toFixed(2)}" height="${h.toFixed(2)}" fill="${color}"><title>${escapeHtml(`${who} ${label}: ${pct(s)}`)}</title></rect>`;
    });
    const short = label.length > 10 ? `${label.slice(0, 9)}…` : label;
    const x = (PAD_L + i * gw + gw / 2).toFixed(2);
    body += `<text x="${x}" y="${PAD_T + PLOT_H + 14}" text-anchor="end" transform="rotate(-30 ${x} ${PAD_T + PLOT_H + 14})" class="tick">${escapeHtml(short)}<title>${escapeHtml(label)}</title></text>`;
  });
  return frame(maxShare, body, '', name);
}

/** One chart per column; an empty window is simply absent from it. */
export function columnChart(name: string, ref: Distribution, cur: Distribution): string {
  if (ref.kind === 'histogram' || cur.kind === 'histogram') {
    const edges = ref.kind === 'histogram' ? ref.edges : (cur as Distribution & { kind: 'histogram' }).edges;
    return histogramChart(name, edges, ref.kind === 'histogram' ? ref.shares : null, cur.kind === 'histogram' ? cur.shares : null);
  }
  if (ref.kind === 'categories' || cur.kind === 'categories') {
    const labels = ref.kind === 'categories' ? ref.labels : (cur as Distribution & { kind: 'categories' }).labels;
    return categoriesChart(name, labels, ref.kind === 'categories' ? ref.shares : null, cur.kind === 'categories' ? cur.shares : null);
  }
  return frame(1, `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="tick">no values in either window</text>`, '', name);
}
