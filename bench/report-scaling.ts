/**
 * Cost as work grows: the curves of one run (idle memory per connection against connections,
 * broadcast deliveries per client against clients, stream throughput against concurrent streams) as a
 * chart (docs/benchmarks-scaling.svg) and as tables for docs/benchmarks.md. Every point is a median from
 * the results object; nothing is hand-edited.
 * @module
 */
import type { CaseParams, MetricDef } from './scenarios.js';
import type { CaseResult, Results } from './report.js';
import { SYSTEM_LABELS, type SystemName } from './systems/index.js';

/** One curve: a metric of one scenario's cases against one of their parameters. */
interface Curve {
  title: string;
  scenario: string;
  xLabel: string;
  x: (params: CaseParams) => number;
  metric: string;
}

const CURVES: readonly Curve[] = [
  { title: 'Idle: RSS per connection', scenario: 'idle', xLabel: 'connections', x: (p) => p.clients, metric: 'rssPerConn' },
  { title: 'Idle: heap+external per connection', scenario: 'idle', xLabel: 'connections', x: (p) => p.clients, metric: 'heapExtPerConn' },
  { title: 'Broadcast: deliveries/s per client', scenario: 'broadcast', xLabel: 'clients', x: (p) => p.clients, metric: 'perClientPerSec' },
  { title: 'Streams on one connection: values/s in all', scenario: 'streams', xLabel: 'concurrent streams', x: (p) => p.streams, metric: 'valuesPerSec' },
];

interface Series {
  system: SystemName;
  points: { x: number; y: number }[];
}

interface Plotted {
  curve: Curve;
  metric: MetricDef;
  xs: number[];
  series: Series[];
}

const COLORS: Partial<Record<SystemName, string>> = { 'net-lean': '#333333', net: '#888888', ws: '#4e79a7', socketio: '#f28e2b', pnetwork: '#59a14f' };

/** The curves that have at least one system with two or more points. */
function plotted(results: Results): Plotted[] {
  const cases = results.scenarios.flatMap((s) => s.cases);
  const out: Plotted[] = [];
  for (const curve of CURVES) {
    const mine: CaseResult[] = cases.filter((c) => c.scenario === curve.scenario).sort((a, b) => curve.x(a.params) - curve.x(b.params));
    const metric = mine[0]?.metrics.find((m) => m.key === curve.metric);
    if (metric === undefined) continue;
    const series: Series[] = [];
    for (const system of results.systems) {
      const points = mine.flatMap((c) => {
        const entry = c.systems[system];
        const y = entry?.status === 'ok' ? entry.median[curve.metric] : undefined;
        return y === undefined ? [] : [{ x: curve.x(c.params), y }];
      });
      if (points.length >= 2) series.push({ system, points });
    }
    if (series.length > 0) out.push({ curve, metric, xs: mine.map((c) => curve.x(c.params)), series });
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Short axis labels: 12.3k, 4.5M; bytes as B / KiB. */
function compact(value: number, unit: string): string {
  if (unit === 'B') return Math.abs(value) >= 10_240 ? `${(value / 1024).toFixed(0)} KiB` : `${value.toFixed(0)} B`;
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(abs >= 10 ? 0 : 1);
}

const PANEL_W = 450;
const PANEL_H = 270;

function panel(plot: Plotted, ox: number, oy: number): string[] {
  const left = ox + 70;
  const right = ox + PANEL_W - 20;
  const top = oy + 34;
  const bottom = oy + PANEL_H - 42;
  const lx = Math.log10(Math.min(...plot.xs));
  const hx = Math.max(lx + 1e-9, Math.log10(Math.max(...plot.xs)));
  const ys = plot.series.flatMap((s) => s.points.map((p) => p.y));
  const ly = Math.min(0, ...ys);
  const hy = Math.max(ly + 1e-9, Math.max(...ys) * 1.1);
  const sx = (x: number): number => left + ((Math.log10(x) - lx) / (hx - lx)) * (right - left);
  const sy = (y: number): number => bottom - ((y - ly) / (hy - ly)) * (bottom - top);
  const parts: string[] = [`<text x="${ox + 10}" y="${oy + 18}" font-size="12" font-weight="bold">${escapeXml(plot.curve.title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const y = ly + ((hy - ly) * i) / 4;
    const gy = sy(y).toFixed(1);
    parts.push(`<line x1="${left}" y1="${gy}" x2="${right}" y2="${gy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${gy}" dy="4" text-anchor="end" fill="#555555">${compact(y, plot.metric.unit)}</text>`);
  }
  for (const x of plot.xs) {
    const gx = sx(x).toFixed(1);
    parts.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${gx}" y="${bottom + 16}" text-anchor="middle" fill="#555555">${x.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle" fill="#333333">${escapeXml(plot.curve.xLabel)} (log scale)</text>`);
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000000"/>`);
  for (const s of plot.series) {
    const color = COLORS[s.system] ?? '#b07aa1';
    const path = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
  }
  return parts;
}

/** docs/benchmarks-scaling.svg: one panel per curve, two panels a row; empty when the run has no curve. */
export function renderScalingSvg(results: Results): string {
  const plots = plotted(results);
  const systems = [...new Set(plots.flatMap((p) => p.series.map((s) => s.system)))];
  const rows = Math.max(1, Math.ceil(plots.length / 2));
  const width = PANEL_W * 2;
  const height = 50 + rows * PANEL_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">Cost as work grows (medians of one run)</text>`,
  ];
  systems.forEach((system, i) => {
    const lx = 10 + i * 175;
    parts.push(`<rect x="${lx}" y="28" width="12" height="10" fill="${COLORS[system] ?? '#b07aa1'}"/>`);
    parts.push(`<text x="${lx + 16}" y="37">${escapeXml(SYSTEM_LABELS[system])}</text>`);
  });
  if (plots.length === 0) parts.push(`<text x="10" y="70">No curve in this run.</text>`);
  plots.forEach((plot, i) => parts.push(...panel(plot, (i % 2) * PANEL_W, 50 + Math.floor(i / 2) * PANEL_H)));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The "Cost as work grows" section of docs/benchmarks.md: the chart and one table per curve. */
export function renderScalingMarkdown(results: Results, svgName: string, format: (metric: MetricDef, value: number) => string): string {
  const plots = plotted(results);
  if (plots.length === 0) return '';
  const out: string[] = ['## Cost as work grows', '', `![Cost as work grows](${svgName})`, ''];
  out.push('Medians from the cases above, side by side; the last column is the value at the largest count over the value at the smallest.', '');
  for (const plot of plots) {
    out.push(`### ${plot.curve.title}`, '');
    const header = [`System, by ${plot.curve.xLabel}`, ...plot.xs.map((x) => x.toLocaleString('en-US')), 'largest ÷ smallest'];
    out.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const s of plot.series) {
      const at = (x: number): string => {
        const point = s.points.find((p) => p.x === x);
        return point === undefined ? '—' : format(plot.metric, point.y);
      };
      const first = s.points[0]!.y;
      const last = s.points[s.points.length - 1]!.y;
      const change = first > 0 && last > 0 ? `${(last / first).toFixed(2)}×` : '—';
      out.push(`| ${SYSTEM_LABELS[s.system]} | ${plot.xs.map(at).join(' | ')} | ${change} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
