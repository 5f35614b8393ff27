// A bar chart of request counts per hour, drawn as SVG sized to its container. It is an
// image for screen readers, with a summary as its label; each bar has a tooltip.
import { h } from '../dom.js';

const HEIGHT = 180;
const PAD = { top: 10, right: 8, bottom: 24, left: 40 };

const parse = (date) => new Date(String(date).replace(' ', 'T'));
const hourLabel = (d) => `${String(d.getUTCHours()).padStart(2, '0')}:00`;
const dayLabel = (d) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;

/** buckets: [{date, total}] (hourly). Returns an <svg>; call again on resize. */
export function barChart(buckets, width) {
  const total = buckets.reduce((sum, b) => sum + b.total, 0);
  const svg = h('svg:svg', { class: 'chart', role: 'img', viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT,
    'aria-label': buckets.length
      ? `Requests per hour: ${total} in total over ${buckets.length} hour${buckets.length === 1 ? '' : 's'}, at most ${Math.max(...buckets.map((b) => b.total))} in one hour.`
      : 'Requests per hour: none in this period.' });
  const max = Math.max(1, ...buckets.map((b) => b.total));
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (value) => PAD.top + plotH - (value / max) * plotH;
  for (const value of [0, Math.ceil(max / 2), max]) {
    svg.append(h('svg:line', { class: 'axis', x1: PAD.left, x2: width - PAD.right, y1: y(value), y2: y(value) }),
      h('svg:text', { x: PAD.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, String(value)));
  }
  if (!buckets.length) return svg;
  // At least the last 24 hours are shown, so a few busy hours stay narrow bars in context.
  const times = buckets.map((b) => parse(b.date).getTime());
  const end = Math.max(...times) + 3600e3;
  const start = Math.min(Math.min(...times), end - 24 * 3600e3);
  const x = (t) => PAD.left + ((t - start) / (end - start)) * plotW;
  const barW = Math.max(1, (plotW * 3600e3) / (end - start) - 2);
  buckets.forEach((bucket, i) => {
    const top = y(bucket.total);
    svg.append(h('svg:rect', { class: 'bar', x: x(times[i]), y: top, width: barW, height: PAD.top + plotH - top },
      h('svg:title', {}, `${bucket.date}: ${bucket.total} request${bucket.total === 1 ? '' : 's'}`)));
  });
  // Labels on whole hours, as many as fit.
  const spanDays = end - start > 36 * 3600e3;
  const everyHours = Math.ceil((end - start) / 3600e3 / Math.max(1, Math.floor(plotW / (spanDays ? 110 : 60))));
  for (let t = start; t <= end; t += everyHours * 3600e3) {
    if (x(t) > width - PAD.right - 16) break;
    const d = new Date(t);
    svg.append(h('svg:text', { x: x(t), y: HEIGHT - 6, 'text-anchor': 'middle' },
      spanDays ? `${dayLabel(d).slice(5)} ${hourLabel(d)}` : hourLabel(d)));
  }
  return svg;
}
