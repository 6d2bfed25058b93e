// The per-endpoint health chart: success rate and latency per hour over the last 24 h, as
// inline SVG drawn at the container's real width (so labels stay legible on a phone), with
// the same numbers as a table for screen readers and keyboard users.
import { h, svg, clear, formatHour, formatMs, formatPercent } from './dom.js';

const HEIGHT = 120;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

function rateClass(rate) {
  if (rate === null) return 'bar-empty';
  if (rate >= 0.99) return 'bar-good';
  if (rate >= 0.9) return 'bar-warn';
  return 'bar-bad';
}

// A round axis maximum ≥ v: 1, 2, 5, 10, 20, 50, …
function niceMax(v) {
  if (v <= 0) return 100;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function bucketLabel(b, seconds) {
  const end = new Date(new Date(b.start).getTime() + seconds * 1000).toISOString();
  return `${formatHour(b.start)}–${formatHour(end)}`;
}

function frame(width, title, yTicks) {
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const root = svg('svg', { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': title });
  for (const t of yTicks) {
    const y = PAD.top + plotH * (1 - t.at);
    root.append(svg('line', { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: PAD.left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, t.label));
  }
  return { root, plotW, plotH };
}

function xLabels(root, buckets, step) {
  buckets.forEach((b, i) => {
    if (i % 6 !== 0) return;
    root.append(svg('text', { x: PAD.left + i * step + step / 2, y: HEIGHT - 6, class: 'axis', 'text-anchor': 'middle' },
      formatHour(b.start)));
  });
}

function successChart(stats, width) {
  const { buckets } = stats;
  const { root, plotW, plotH } = frame(width, `Success rate per hour, last 24 h: ${formatPercent(stats.success_rate)} overall`,
    [{ at: 0, label: '0 %' }, { at: 0.5, label: '50 %' }, { at: 1, label: '100 %' }]);
  const step = plotW / buckets.length;
  const barW = Math.max(2, step - 2);
  buckets.forEach((b, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    const label = b.attempts
      ? `${bucketLabel(b, stats.bucket_seconds)}: ${b.succeeded} of ${b.attempts} attempts succeeded (${formatPercent(b.success_rate)})`
      : `${bucketLabel(b, stats.bucket_seconds)}: no attempts`;
    const hgt = b.attempts ? Math.max(2, plotH * b.success_rate) : 2;
    root.append(svg('rect', { x, y: PAD.top + plotH - hgt, width: barW, height: hgt, rx: 1.5, class: rateClass(b.success_rate) },
      svg('title', {}, label)));
  });
  xLabels(root, buckets, step);
  return root;
}

function latencyChart(stats, width) {
  const { buckets } = stats;
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.max_duration_ms ?? 0)));
  const { root, plotW, plotH } = frame(width, `Average and maximum attempt duration per hour, last 24 h: ${formatMs(stats.avg_duration_ms)} on average`,
    [{ at: 0, label: '0' }, { at: 0.5, label: formatMs(max / 2) }, { at: 1, label: formatMs(max) }]);
  const step = plotW / buckets.length;
  const barW = Math.max(2, step - 2);
  const y = (ms) => PAD.top + plotH * (1 - ms / max);
  let avgPath = '';
  buckets.forEach((b, i) => {
    if (!b.attempts) return;
    const x = PAD.left + i * step + (step - barW) / 2;
    // Max as a faint bar, the average as a line through the bars' centres.
    root.append(svg('rect', { x, y: y(b.max_duration_ms), width: barW, height: PAD.top + plotH - y(b.max_duration_ms), rx: 1.5, class: 'bar-max' },
      svg('title', {}, `${bucketLabel(b, stats.bucket_seconds)}: average ${formatMs(b.avg_duration_ms)}, slowest ${formatMs(b.max_duration_ms)}`)));
    const cx = PAD.left + i * step + step / 2;
    avgPath += `${avgPath ? 'L' : 'M'}${cx.toFixed(1)},${y(b.avg_duration_ms).toFixed(1)}`;
  });
  if (avgPath) root.append(svg('path', { d: avgPath, class: 'line-avg' }));
  buckets.forEach((b, i) => {
    if (!b.attempts) return;
    root.append(svg('circle', { cx: PAD.left + i * step + step / 2, cy: y(b.avg_duration_ms), r: 2.5, class: 'dot-avg' }));
  });
  xLabels(root, buckets, step);
  return root;
}

function dataTable(stats) {
  return h('details', { class: 'chart-data' },
    h('summary', {}, 'Show the numbers'),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table compact' },
        h('caption', { class: 'visually-hidden' }, 'Attempts per hour'),
        h('thead', {}, h('tr', {}, ['Hour', 'Attempts', 'Succeeded', 'Success rate', 'Average', 'Slowest'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, stats.buckets.filter((b) => b.attempts).map((b) => h('tr', {},
          h('td', { 'data-label': 'Hour' }, bucketLabel(b, stats.bucket_seconds)),
          h('td', { 'data-label': 'Attempts' }, b.attempts),
          h('td', { 'data-label': 'Succeeded' }, b.succeeded),
          h('td', { 'data-label': 'Success rate' }, formatPercent(b.success_rate)),
          h('td', { 'data-label': 'Average' }, formatMs(b.avg_duration_ms)),
          h('td', { 'data-label': 'Slowest' }, formatMs(b.max_duration_ms))))))));
}

// Renders `stats` (GET …/stats) into `container`, redrawing when its width changes.
// Returns a function that stops watching the size.
export function renderStats(container, stats) {
  clear(container);
  const summary = stats.attempts
    ? h('p', { class: 'stats-summary' },
      h('strong', { class: 'stat-rate' }, formatPercent(stats.success_rate)), ` of ${stats.attempts} attempt${stats.attempts === 1 ? '' : 's'} succeeded · `,
      'average ', h('strong', {}, formatMs(stats.avg_duration_ms)), ' · slowest ', h('strong', {}, formatMs(stats.max_duration_ms)))
    : h('p', { class: 'stats-summary muted' }, 'No attempts in the last 24 hours.');
  const charts = h('div', { class: 'charts' });
  container.append(summary, charts);
  if (stats.attempts) container.append(dataTable(stats));

  let lastWidth = 0;
  const draw = () => {
    const width = Math.max(260, Math.floor(charts.clientWidth || 600));
    if (width === lastWidth) return;
    lastWidth = width;
    clear(charts);
    charts.append(
      h('figure', { class: 'chart-figure' }, h('figcaption', {}, 'Success rate'), successChart(stats, width)),
      h('figure', { class: 'chart-figure' },
        h('figcaption', {}, 'Latency ', h('span', { class: 'legend legend-avg' }, 'average'), ' ', h('span', { class: 'legend legend-max' }, 'slowest')),
        latencyChart(stats, width)));
  };
  draw();
  const ro = new ResizeObserver(() => draw());
  ro.observe(charts);
  return () => ro.disconnect();
}
