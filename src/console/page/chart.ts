import type { JobMetrics } from '../api-types.js';
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 56;

/** Records per second between consecutive samples (a counter that went down means a worker left). */
export function rates(samples: JobMetrics[], field: 'recordsIn' | 'recordsOut'): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1], samples[i]];
    if (!a || !b || b.at <= a.at) continue;
    out.push(Math.max(0, ((b[field] - a[field]) * 1000) / (b.at - a.at)));
  }
  return out;
}

/** A small line chart with its label and latest value; drawn as SVG, with a text equivalent. */
export function sparkline(label: string, values: number[], unit: string): HTMLElement {
  const last = values.at(-1);
  const text =
    last === undefined ? 'no samples yet' : `${Math.round(last).toLocaleString('en-US')} ${unit}`;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: ${text}`);
  if (values.length > 1) {
    const max = Math.max(...values, 1);
    const points = values.map(
      (v, i) =>
        `${((i / (values.length - 1)) * W).toFixed(1)},${(H - 4 - (v / max) * (H - 8)).toFixed(1)}`,
    );
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('stroke-width', '2');
    svg.append(line);
  }
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, h('span', {}, label), h('strong', {}, text)),
    svg,
  );
}
