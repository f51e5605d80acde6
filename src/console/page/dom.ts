/** A tiny element builder: text goes in as text nodes, never as HTML, so nothing shown can inject markup. */
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** UTC time to the second, as the CLI prints it (to the millisecond there). */
export function time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** A duration the way `sluice jobs` shows ages: 45s, 3m20s, 2h5m, 4d3h. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [m, hr, d] = [Math.floor(s / 60), Math.floor(s / 3600), Math.floor(s / 86_400)];
  if (s < 60) return `${s}s`;
  if (hr < 1) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (d < 1) return m % 60 === 0 ? `${hr}h` : `${hr}h${m % 60}m`;
  return hr % 24 === 0 ? `${d}d` : `${d}d${hr % 24}h`;
}

/** A status as a badge; suspended and failed ones stand out. */
export function badge(status: string): HTMLElement {
  const kind = status.startsWith('SUSPENDED')
    ? 'warn'
    : status === 'FAILED'
      ? 'bad'
      : status === 'RUNNING' || status === 'COMPLETED'
        ? 'ok'
        : 'idle';
  return h('span', { class: `badge ${kind}`, 'data-status': status }, status);
}

/** A whole number with thousands separators, or a dash when unknown. */
export function count(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}
