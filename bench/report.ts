/**
 * Turns a results file into console tables, target lines, docs/benchmarks.md and docs/benchmarks.svg.
 * Every number in the docs comes from the results object; nothing is hand-edited.
 *
 * Standalone: `npx tsx bench/report.ts bench/results/<file>.json` regenerates the docs from a saved run.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CaseDef, MetricDef } from './scenarios.js';
import { BASE_SYSTEMS, SYSTEM_LABELS, type SystemName } from './systems/index.js';
import type { ClusterBenchResults } from './cluster-bench.js';
import { round } from './stats.js';
import { renderScalingMarkdown, renderScalingSvg } from './report-scaling.js';

/** The curves' chart, beside docs/benchmarks.md. */
const SCALING_SVG = 'benchmarks-scaling.svg';

/** One verified run of one system in one case. */
export interface RunRecord {
  round: number;
  metrics: Record<string, number>;
  /** Everything the run reported (counts, elapsed times, latency percentiles, memory readings). */
  raw: Record<string, unknown>;
  wallMs: number;
}

export interface SystemResult {
  status: 'ok' | 'failed' | 'skipped' | 'n/a';
  reason?: string;
  runs: RunRecord[];
  /** Median over rounds, per metric (only when status is ok). */
  median: Record<string, number>;
}

export interface CaseResult extends CaseDef {
  systems: Partial<Record<SystemName, SystemResult>>;
}

export interface ScenarioResult {
  id: string;
  title: string;
  measures: string;
  notYet?: string;
  cases: CaseResult[];
}

export interface Results {
  schema: 1;
  mode: 'full' | 'quick';
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Record<string, unknown>;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    platform: string;
    release: string;
    arch: string;
    node: string;
    /** 1-minute load average at the start and at the end of the run (other work on the machine skews results). */
    loadAverage?: { start: number; end: number };
  };
  versions: Record<string, string>;
  ulimitNofile: string;
  notes: string[];
  systems: SystemName[];
  scenarios: ScenarioResult[];
  failures: string[];
  /** The scaling-out cases (bench/cluster-bench.ts), when they ran. */
  cluster?: ClusterBenchResults;
}

export interface TargetLine {
  name: string;
  status: 'pass' | 'miss' | 'skipped';
  text: string;
}

const BASELINE: SystemName = 'net';

/** The cheapest-framing floor: pnetwork's targets are ratios to it. */
export const CHEAPEST_FLOOR: SystemName = 'net-lean';

/** Median of `system` over a floor's median (the case's baseline unless named) for one metric, or null when either is missing. */
export function ratio(result: CaseResult, system: SystemName, key: string, to: SystemName = result.baseline ?? BASELINE): number | null {
  const mine = result.systems[system];
  const floor = result.systems[to];
  if (mine?.status !== 'ok' || floor?.status !== 'ok') return null;
  const a = mine.median[key];
  const b = floor.median[key];
  if (a === undefined || b === undefined || !(a > 0) || !(b > 0)) return null;
  return a / b;
}

function allCases(results: Results): CaseResult[] {
  return results.scenarios.flatMap((s) => s.cases);
}

function findCase(results: Results, id: string): CaseResult | undefined {
  return allCases(results).find((c) => c.id === id);
}

const fmtRatio = (r: number): string => `${r.toFixed(2)}×`;

/** The pass/miss lines for pnetwork's targets (ratios to the floor in the same run). */
export function targets(results: Results): TargetLine[] {
  const lines: TargetLine[] = [];
  const check = (name: string, value: number | null, limit: number, atLeast: boolean, of = 'the floor'): void => {
    const bound = `${atLeast ? '≥' : '≤'} ${limit}×`;
    if (value === null) {
      lines.push({ name, status: 'skipped', text: `SKIP ${name}: target ${bound} of ${of} (no result)` });
      return;
    }
    const ok = atLeast ? value >= limit : value <= limit;
    const gap = atLeast ? limit - value : value - limit;
    const shown = `${value.toFixed(3)}×`;
    lines.push({
      name,
      status: ok ? 'pass' : 'miss',
      text: ok
        ? `PASS ${name}: ${shown} of ${of} (target ${bound})`
        : `MISS ${name}: ${shown} of ${of} (target ${bound}; gap ${gap.toFixed(3)}×, ${((gap / limit) * 100).toFixed(1)}% of the target)`,
    });
  };
  // Ratios to the cheapest floor: what is left above it is the envelope plus our own code.
  const cheapest = 'the cheapest floor';
  const ratioOf = (system: SystemName, id: string, key: string, baseline?: SystemName): number | null => {
    const found = findCase(results, id);
    return found ? ratio(found, system, key, baseline) : null;
  };
  const r = (id: string, key: string): number | null => ratioOf('pnetwork', id, key, CHEAPEST_FLOOR);
  check('one-way 100 B throughput', r('oneway-100', 'msgPerSec'), 0.75, true, cheapest);
  check('one-way 4 KiB throughput', r('oneway-4k', 'msgPerSec'), 0.85, true, cheapest);
  check('round trip p50 latency', r('rtt', 'p50Us'), 1.1, false, cheapest);
  check('pipelined throughput', r('pipelined', 'reqPerSec'), 0.85, true, cheapest);
  check('5,000 idle connections: RSS per connection', r('idle-5000', 'rssPerConn'), 1.3, false, cheapest);
  check('5,000 idle connections: heap+external per connection', r('idle-5000', 'heapExtPerConn'), 2, false, cheapest);
  check('time to establish 5,000 connections', r('idle-5000', 'connectMs'), 1.5, false, cheapest);
  const one = findCase(results, 'dispatch-1')?.systems.pnetwork;
  const many = findCase(results, 'dispatch-1000')?.systems.pnetwork;
  const dispatch =
    one?.status === 'ok' && many?.status === 'ok' && one.median.msgPerSec && many.median.msgPerSec
      ? many.median.msgPerSec / one.median.msgPerSec
      : null;
  check('dispatch with 1,000 actions', dispatch, 0.9, true, 'pnetwork with 1 action');
  check('broadcast to 1,000 clients: deliveries', r('broadcast-1000', 'deliveriesPerSec'), 0.9, true, cheapest);
  const tlsRatio = (id: string, key: string): number | null => ratioOf('pnetwork-tls', id, key);
  check('TLS one-way 100 B throughput', tlsRatio('tls-oneway-100', 'msgPerSec'), 0.7, true, 'the node:tls floor');
  check('TLS one-way 4 KiB throughput', tlsRatio('tls-oneway-4k', 'msgPerSec'), 0.7, true, 'the node:tls floor');
  check('TLS connect time', tlsRatio('tls-connect', 'connectUs'), 1.2, false, 'a bare node:tls 1.3 connect');
  const channelRatio = (id: string, key: string): number | null => ratioOf('pnetwork-channel', id, key);
  check('secure channel one-way 100 B throughput', channelRatio('tls-oneway-100', 'msgPerSec'), 0.7, true, 'the node:tls floor');
  check('secure channel one-way 4 KiB throughput', channelRatio('tls-oneway-4k', 'msgPerSec'), 0.7, true, 'the node:tls floor');
  check('secure channel connect time', channelRatio('tls-connect', 'connectUs'), 1, false, 'a bare node:tls 1.3 connect');
  return lines;
}

/** Formats a metric value for tables. */
export function formatValue(metric: MetricDef, value: number): string {
  switch (metric.unit) {
    case 'µs':
      return `${value.toFixed(1)} µs`;
    case 'ms':
      return `${value.toFixed(0)} ms`;
    case 'B':
      return value >= 10_240 ? `${(value / 1024).toFixed(1)} KiB` : `${value.toFixed(0)} B`;
    default:
      return `${Math.round(value).toLocaleString('en-US')} ${metric.unit === '1/s' ? '/s' : metric.unit}`;
  }
}

/** True when a case is measured against both node:net floors (it names no baseline of its own). */
const twoFloors = (result: CaseResult): boolean => result.baseline === undefined;

function cell(result: CaseResult, system: SystemName, metric: MetricDef): { value: string; ratio: string; cheapest: string } {
  const entry = result.systems[system];
  if (!entry || entry.status === 'n/a') return { value: 'N/A', ratio: '', cheapest: '' };
  if (entry.status === 'skipped') return { value: 'not run', ratio: '', cheapest: '' };
  if (entry.status === 'failed') return { value: 'FAILED', ratio: '', cheapest: '' };
  const value = entry.median[metric.key];
  if (value === undefined) return { value: '?', ratio: '', cheapest: '' };
  const r = ratio(result, system, metric.key);
  const c = twoFloors(result) ? ratio(result, system, metric.key, CHEAPEST_FLOOR) : null;
  return { value: formatValue(metric, value), ratio: r === null ? '' : fmtRatio(r), cheapest: c === null ? '' : fmtRatio(c) };
}

/** Plain-text tables for the console. */
export function consoleTables(results: Results): string {
  const out: string[] = [];
  for (const scenario of results.scenarios) {
    out.push(`\n${scenario.title}`);
    if (scenario.notYet) {
      out.push(`  ${scenario.notYet}`);
      continue;
    }
    for (const result of scenario.cases) {
      out.push(`  ${result.title}`);
      for (const system of results.systems) {
        if (result.systems[system]?.status === 'n/a') continue;
        const cells = result.metrics.map((metric) => {
          const c = cell(result, system, metric);
          const ratios = [c.ratio, c.cheapest].filter(Boolean).join(' / ');
          return `${metric.label} ${c.value}${ratios ? ` (${ratios})` : ''}`;
        });
        const reason = result.systems[system]?.reason;
        out.push(`    ${SYSTEM_LABELS[system].padEnd(30)} ${cells.join('   ')}${reason && result.systems[system]?.status !== 'ok' ? `  [${reason}]` : ''}`);
      }
    }
  }
  return out.join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS: Record<SystemName, string> = { 'net-lean': '#333333', net: '#888888', ws: '#4e79a7', socketio: '#f28e2b', pnetwork: '#59a14f', tls: '#bab0ac', 'pnetwork-tls': '#76b7b2', 'pnetwork-channel': '#b07aa1' };

/** A horizontal bar chart (log scale) of every metric's ratio to the floor, per system. */
export function renderSvg(results: Results): string {
  // Bars are ratios to the cheapest floor (the same-envelope one among them); a run without it falls back to the other.
  const chartFloor = results.systems.includes(CHEAPEST_FLOOR) ? CHEAPEST_FLOOR : BASELINE;
  // The chart covers the cases every base system runs; the TLS pair has its own tables.
  const systems = results.systems.filter((s) => s !== chartFloor && BASE_SYSTEMS.includes(s));
  const groups: { label: string; bars: { system: SystemName; value: number | null }[] }[] = [];
  for (const result of allCases(results)) {
    if (result.only) continue;
    // Per client is deliveries over clients: its ratio is the deliveries' ratio again.
    for (const metric of result.metrics.filter((m) => m.key !== 'perClientPerSec')) {
      groups.push({
        label: `${result.title}: ${metric.label} (${metric.better} is better)`,
        bars: systems.map((system) => ({ system, value: ratio(result, system, metric.key, chartFloor) })),
      });
    }
  }
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v): v is number => v !== null && v > 0);
  const lo = Math.min(-1, Math.floor(Math.log2(Math.min(1, ...values))));
  const hi = Math.max(1, Math.ceil(Math.log2(Math.max(1, ...values))));
  const width = 900;
  const left = 330;
  const right = 60;
  const top = 56;
  const barHeight = 13;
  const groupGap = 10;
  const plotWidth = width - left - right;
  const x = (r: number): number => left + ((Math.log2(r) - lo) / (hi - lo)) * plotWidth;
  const groupHeight = systems.length * barHeight + groupGap;
  const height = top + groups.length * groupHeight + 30;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">Ratio to the ${escapeXml(SYSTEM_LABELS[chartFloor])} (log scale; 1× = floor)</text>`,
  );
  systems.forEach((system, i) => {
    const lx = 10 + i * 175;
    parts.push(`<rect x="${lx}" y="28" width="12" height="10" fill="${COLORS[system]}"/>`);
    parts.push(`<text x="${lx + 16}" y="37">${escapeXml(SYSTEM_LABELS[system])}</text>`);
  });
  for (let p = lo; p <= hi; p++) {
    const gx = x(2 ** p);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${height - 24}" stroke="${p === 0 ? '#000000' : '#dddddd'}"/>`);
    const label = p >= 0 ? `${2 ** p}×` : `1/${2 ** -p}×`;
    parts.push(`<text x="${gx.toFixed(1)}" y="${height - 10}" text-anchor="middle" fill="#555555">${label}</text>`);
  }
  groups.forEach((group, g) => {
    const gy = top + g * groupHeight;
    parts.push(`<text x="${left - 8}" y="${(gy + (systems.length * barHeight) / 2 + 4).toFixed(1)}" text-anchor="end">${escapeXml(group.label)}</text>`);
    group.bars.forEach((bar, i) => {
      const by = gy + i * barHeight;
      if (bar.value === null || bar.value <= 0) {
        parts.push(`<text x="${(x(1) + 4).toFixed(1)}" y="${by + 10}" fill="#999999">${escapeXml(SYSTEM_LABELS[bar.system])}: no result</text>`);
        return;
      }
      const x0 = Math.min(x(1), x(bar.value));
      const w = Math.max(1, Math.abs(x(bar.value) - x(1)));
      parts.push(`<rect x="${x0.toFixed(1)}" y="${by + 1}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${COLORS[bar.system]}"/>`);
      const tx = bar.value >= 1 ? x0 + w + 3 : x0 - 3;
      parts.push(`<text x="${tx.toFixed(1)}" y="${by + 10}" text-anchor="${bar.value >= 1 ? 'start' : 'end'}" font-size="10">${fmtRatio(bar.value)}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** docs/benchmarks.md. */
export function renderMarkdown(results: Results, resultsPath: string, svgName: string): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `<!-- Generated by bench/report.ts from ${resultsPath}. Do not edit by hand: run \`npm run bench\` (or \`npx tsx bench/report.ts ${resultsPath}\`). -->`,
    '',
  );
  out.push(
    'pnetwork side by side with two hand-written node:net floors (4-byte big-endian length + JSON, writes coalesced per tick), ws and socket.io (websocket transport only).',
    'The same-envelope floor and every other system carry the packet-like message `{ action, data, packet-created, token }`; the cheapest floor carries only `{ action, data }` (plus `id` on requests and replies).',
    'The gap between the two floors is the envelope’s cost; what is left between pnetwork and the same-envelope floor is our code’s. Server and client run in separate processes over 127.0.0.1.',
    `Each figure is the median of ${String(results.options.rounds)} round(s); systems take turns within each round. Every run verified its own result (message counts, sequence sums, echoed bodies) before its numbers were kept.`,
    'Ratios are to both floors measured in the same run (targets: to the cheapest). See bench/README.md for what each scenario does.',
    '',
  );
  out.push('## Machine and versions', '');
  out.push('| | |', '|---|---|');
  out.push(`| CPU | ${results.machine.cpu} |`);
  out.push(`| Cores | ${results.machine.cores} |`);
  out.push(`| Memory | ${results.machine.memoryGiB} GiB |`);
  out.push(`| OS | ${results.machine.platform} ${results.machine.release} (${results.machine.arch}) |`);
  out.push(`| Node.js | ${results.machine.node} |`);
  const load = results.machine.loadAverage;
  if (load) out.push(`| Load average (1 min) | ${load.start} at start, ${load.end} at end |`);
  for (const [name, version] of Object.entries(results.versions)) out.push(`| ${name} | ${version} |`);
  out.push(`| ulimit -n | ${results.ulimitNofile} |`);
  out.push(`| Run | ${results.startedAt} → ${results.finishedAt} |`);
  out.push('');
  out.push('Commands:', '', '```sh', results.command, `npx tsx bench/report.ts ${resultsPath}   # regenerates this page from the saved results`, '```', '');
  if (results.notes.length > 0) {
    out.push('Notes:', '');
    for (const note of results.notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push('## Chart', '', `![Ratio to the floor per scenario and system](${svgName})`, '');
  for (const scenario of results.scenarios) {
    out.push(`## ${scenario.title}`, '', scenario.measures, '');
    if (scenario.notYet) {
      // Dated: what a run could not measure may exist by the time the page is read.
      out.push(`**Not in this run (${results.startedAt}): ${scenario.notYet}.**`, '');
      continue;
    }
    for (const result of scenario.cases) {
      out.push(`### ${result.title}`, '');
      const floorName = result.baseline === undefined ? 'floor' : SYSTEM_LABELS[result.baseline];
      const floorColumns = (m: MetricDef): string[] =>
        twoFloors(result) ? [`${m.label} (median, ${m.better} is better)`, 'ratio to same-envelope floor', 'ratio to cheapest floor'] : [`${m.label} (median, ${m.better} is better)`, `ratio to ${floorName}`];
      const header = ['System', ...result.metrics.flatMap(floorColumns)];
      out.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
      for (const system of results.systems) {
        // Only the systems a case is for get a row (the TLS pair has rows only in its own scenario).
        if (result.systems[system]?.status === 'n/a') continue;
        const cells = result.metrics.flatMap((metric) => {
          const c = cell(result, system, metric);
          return twoFloors(result) ? [c.value, c.ratio || '—', c.cheapest || '—'] : [c.value, c.ratio || '—'];
        });
        out.push(`| ${SYSTEM_LABELS[system]} | ${cells.join(' | ')} |`);
      }
      out.push('');
    }
  }
  const scaling = renderScalingMarkdown(results, SCALING_SVG, formatValue);
  if (scaling !== '') out.push(scaling);
  out.push('## pnetwork targets', '');
  for (const line of targets(results)) out.push(`- ${line.text}`);
  out.push('');
  // The hand-written analysis of missed targets, kept beside the generator so a new run keeps it.
  out.push(readFileSync(new URL('./analysis.md', import.meta.url), 'utf8').trimEnd(), '');
  return `${out.join('\n')}`;
}

const HEADLINE_START = '<!-- bench:headline:start -->';
const HEADLINE_END = '<!-- bench:headline:end -->';

/** The README's headline block: pnetwork's ratio to the floor per target, from one run. */
export function renderHeadline(results: Results, resultsFile: string): string {
  const rows = targets(results)
    .filter((line) => line.status !== 'skipped')
    .map((line) => `- ${line.text}`);
  return [
    HEADLINE_START,
    `Generated from \`${resultsFile}\` (${results.machine.cores} cores, ${results.machine.cpu}, Node.js ${results.machine.node}); details in [docs/benchmarks.md](docs/benchmarks.md).`,
    '',
    ...rows,
    HEADLINE_END,
  ].join('\n');
}

/** Writes docs/benchmarks.md, docs/benchmarks.svg and the README's headline block from a results object saved at `resultsFile`. */
/** The scaling-out section of docs/benchmarks.md. */
function renderCluster(cluster: ClusterBenchResults | undefined): string {
  if (!cluster) return '';
  const rows = cluster.cases.map((c) => {
    const rtt = (r: { p50: number; p99: number } | undefined): string => (r ? `${r.p50} / ${r.p99}` : '-');
    const added = c.localRtt && c.crossRtt ? `+${round(c.crossRtt.p50 - c.localRtt.p50, 3)}` : '-';
    return `| ${c.system} | ${c.adapter} | ${c.broadcasts} × ${c.clients} | ${Math.round(c.deliveriesPerSecond)} | ${rtt(c.localRtt)} | ${rtt(c.crossRtt)} | ${added} |`;
  });
  return [
    '',
    '## Scaling out (cluster)',
    '',
    'Node A broadcasts to clients of node B (one node: to its own clients); `requestClient` round trips from A to a client',
    'on A, then on B. See bench/cluster-bench.ts and docs/scaling.md.',
    '',
    '| System | Adapter | Broadcasts × clients | Deliveries/s | RTT same node p50 / p99 ms | RTT other node p50 / p99 ms | Added p50 ms |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    ...cluster.skipped.map((s) => `\nSkipped: ${s}`),
    '',
  ].join('\n');
}

export function writeDocs(results: Results, resultsFile: string, root: string): string[] {
  const md = new URL('docs/benchmarks.md', pathToFileURL(`${root}/`));
  const svg = new URL('docs/benchmarks.svg', pathToFileURL(`${root}/`));
  const readme = new URL('README.md', pathToFileURL(`${root}/`));
  const scalingSvg = new URL(`docs/${SCALING_SVG}`, pathToFileURL(`${root}/`));
  writeFileSync(svg, renderSvg(results));
  writeFileSync(scalingSvg, renderScalingSvg(results));
  writeFileSync(md, renderMarkdown(results, relative(root, resultsFile), 'benchmarks.svg') + renderCluster(results.cluster));
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf(HEADLINE_START);
  const end = text.indexOf(HEADLINE_END);
  if (start >= 0 && end > start) {
    writeFileSync(readme, text.slice(0, start) + renderHeadline(results, relative(root, resultsFile)) + text.slice(end + HEADLINE_END.length));
  }
  return [fileURLToPath(md), fileURLToPath(svg), fileURLToPath(scalingSvg), fileURLToPath(readme)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/report.ts bench/results/<file>.json');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const written of writeDocs(results, file, root)) console.log(`wrote ${written}`);
}
