// The per-endpoint health charts: success rate and latency per bucket over the last hour,
// 24 hours or 7 days, as inline SVG drawn at the container's real width (so labels stay
// legible on a phone), with the same numbers as a table for screen readers and keyboard users.
//
// A bucket with attempts is a full-height bar split in two: the share that succeeded (green,
// from the bottom) and the share that failed (red, on top) — so an hour where everything
// failed is a tall red bar, never a sliver. A bucket without attempts is a short grey dash.
import { h, svg, clear, formatHour, formatDayHour, formatMs, formatPercent, timeZoneLabel } from './dom.js';

const HEIGHT = 120;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

// The ranges the panel offers: bucket size, number of buckets, how often to label the x axis.
export const RANGES = {
  '1h': { label: '1 h', long: 'last hour', bucket: 60, buckets: 60, every: 10, unit: 'minute' },
  '24h': { label: '24 h', long: 'last 24 hours', bucket: 3600, buckets: 24, every: 4, unit: 'hour' },
  '7d': { label: '7 d', long: 'last 7 days', bucket: 21600, buckets: 28, every: 4, unit: '6 hours' },
};

// GET …/stats parameters for `range`: whole buckets ending with the current (partial) one.
export function statsParams(range, now = Date.now()) {
  const r = RANGES[range];
  const ms = r.bucket * 1000;
  const since = (Math.floor(now / ms) - (r.buckets - 1)) * ms;
  return { bucket: r.bucket, since: new Date(since).toISOString() };
}

// A round axis maximum ≥ v: 1, 2, 5, 10, 20, 50, …
function niceMax(v) {
  if (v <= 0) return 100;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function tick(iso, seconds) {
  return seconds >= 21600 ? formatDayHour(iso) : formatHour(iso);
}

function bucketLabel(b, seconds) {
  const end = new Date(new Date(b.start).getTime() + seconds * 1000).toISOString();
  return `${tick(b.start, seconds)}–${formatHour(end)}`;
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

function xLabels(root, stats, step, every) {
  stats.buckets.forEach((b, i) => {
    if (i % every !== 0) return;
    root.append(svg('text', { x: PAD.left + i * step + step / 2, y: HEIGHT - 6, class: 'axis', 'text-anchor': 'middle' },
      tick(b.start, stats.bucket_seconds)));
  });
}

function successChart(stats, range, width) {
  const { buckets } = stats;
  const { root, plotW, plotH } = frame(width, `Success rate per ${range.unit}, ${range.long}: ${formatPercent(stats.success_rate)} overall`,
    [{ at: 0, label: '0 %' }, { at: 0.5, label: '50 %' }, { at: 1, label: '100 %' }]);
  const step = plotW / buckets.length;
  const barW = Math.max(1, step > 4 ? step - 2 : step - 0.5);
  const base = PAD.top + plotH;
  buckets.forEach((b, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    const g = svg('g', { class: 'bucket', dataset: { attempts: b.attempts, rate: b.attempts ? b.success_rate : '' } });
    if (!b.attempts) {
      g.append(svg('title', {}, `${bucketLabel(b, stats.bucket_seconds)}: no attempts`),
        svg('rect', { x, y: base - 2, width: barW, height: 2, class: 'bar-none' }));
    } else {
      const okH = plotH * b.success_rate;
      g.append(svg('title', {}, `${bucketLabel(b, stats.bucket_seconds)}: ${b.succeeded} of ${b.attempts} attempts succeeded (${formatPercent(b.success_rate)}), ${b.failed} failed`));
      if (okH > 0) g.append(svg('rect', { x, y: base - okH, width: barW, height: okH, class: 'bar-ok' }));
      if (plotH - okH > 0) g.append(svg('rect', { x, y: PAD.top, width: barW, height: plotH - okH, class: 'bar-fail' }));
    }
    root.append(g);
  });
  xLabels(root, stats, step, range.every);
  return root;
}

function latencyChart(stats, range, width) {
  const { buckets } = stats;
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.max_duration_ms ?? 0)));
  const { root, plotW, plotH } = frame(width, `Average and maximum attempt duration per ${range.unit}, ${range.long}: ${formatMs(stats.avg_duration_ms)} on average`,
    [{ at: 0, label: '0' }, { at: 0.5, label: formatMs(max / 2) }, { at: 1, label: formatMs(max) }]);
  const step = plotW / buckets.length;
  const barW = Math.max(1, step > 4 ? step - 2 : step - 0.5);
  const y = (ms) => PAD.top + plotH * (1 - ms / max);
  let avgPath = '';
  buckets.forEach((b, i) => {
    if (!b.attempts) return;
    const x = PAD.left + i * step + (step - barW) / 2;
    // Max as a faint bar, the average as a line through the bars' centres.
    root.append(svg('rect', { x, y: y(b.max_duration_ms), width: barW, height: PAD.top + plotH - y(b.max_duration_ms), rx: 1, class: 'bar-max' },
      svg('title', {}, `${bucketLabel(b, stats.bucket_seconds)}: average ${formatMs(b.avg_duration_ms)}, slowest ${formatMs(b.max_duration_ms)}`)));
    const cx = PAD.left + i * step + step / 2;
    avgPath += `${avgPath ? 'L' : 'M'}${cx.toFixed(1)},${y(b.avg_duration_ms).toFixed(1)}`;
  });
  if (avgPath) root.append(svg('path', { d: avgPath, class: 'line-avg' }));
  buckets.forEach((b, i) => {
    if (!b.attempts) return;
    root.append(svg('circle', { cx: PAD.left + i * step + step / 2, cy: y(b.avg_duration_ms), r: 2.5, class: 'dot-avg' }));
  });
  xLabels(root, stats, step, range.every);
  return root;
}

function dataTable(stats) {
  return h('details', { class: 'chart-data' },
    h('summary', {}, 'Show the numbers'),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table compact' },
        h('caption', { class: 'visually-hidden' }, 'Attempts per period'),
        h('thead', {}, h('tr', {}, ['Period', 'Attempts', 'Succeeded', 'Failed', 'Success rate', 'Average', 'Slowest'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, stats.buckets.filter((b) => b.attempts).map((b) => h('tr', {},
          h('td', { 'data-label': 'Period' }, bucketLabel(b, stats.bucket_seconds)),
          h('td', { 'data-label': 'Attempts' }, b.attempts),
          h('td', { 'data-label': 'Succeeded' }, b.succeeded),
          h('td', { 'data-label': 'Failed' }, b.failed),
          h('td', { 'data-label': 'Success rate' }, formatPercent(b.success_rate)),
          h('td', { 'data-label': 'Average' }, formatMs(b.avg_duration_ms)),
          h('td', { 'data-label': 'Slowest' }, formatMs(b.max_duration_ms))))))));
}

// Renders `stats` (GET …/stats over `rangeKey`, one of RANGES) into `container`, redrawing
// when its width changes. Returns a function that stops watching the size.
export function renderStats(container, stats, rangeKey = '24h') {
  const range = RANGES[rangeKey];
  clear(container);
  const summary = stats.attempts
    ? h('p', { class: 'stats-summary' },
      h('strong', { class: `stat-rate ${stats.success_rate >= 0.99 ? 'ok' : stats.success_rate >= 0.9 ? 'warn' : 'bad'}` }, formatPercent(stats.success_rate)),
      ` of ${stats.attempts} attempt${stats.attempts === 1 ? '' : 's'} succeeded · `,
      'average ', h('strong', {}, formatMs(stats.avg_duration_ms)), ' · slowest ', h('strong', {}, formatMs(stats.max_duration_ms)))
    : h('p', { class: 'stats-summary muted' }, `No attempts in the ${range.long}.`);
  const charts = h('div', { class: 'charts' });
  container.append(summary, charts,
    h('p', { class: 'hint chart-legend' },
      h('span', { class: 'legend legend-ok' }, 'succeeded'), ' ', h('span', { class: 'legend legend-fail' }, 'failed'), ' ',
      h('span', { class: 'legend legend-none' }, 'no attempts'), ` · one bar per ${range.unit} · times in ${timeZoneLabel()}`));
  if (stats.attempts) container.append(dataTable(stats));

  let lastWidth = 0;
  const draw = () => {
    const width = Math.max(260, Math.floor(charts.clientWidth || 600));
    if (width === lastWidth) return;
    lastWidth = width;
    clear(charts);
    charts.append(
      h('figure', { class: 'chart-figure' }, h('figcaption', {}, 'Success rate'), successChart(stats, range, width)),
      h('figure', { class: 'chart-figure' },
        h('figcaption', {}, 'Latency ', h('span', { class: 'legend legend-avg' }, 'average'), ' ', h('span', { class: 'legend legend-max' }, 'slowest')),
        latencyChart(stats, range, width)));
  };
  draw();
  const ro = new ResizeObserver(() => draw());
  ro.observe(charts);
  return () => ro.disconnect();
}
