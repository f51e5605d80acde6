import type { JobRow } from '../api-types.js';
import { age, badge, count, h } from './dom.js';

/** The job list: suspended jobs first and marked, then the rest, newest first. */
export function renderList(rows: JobRow[], now: number): HTMLElement {
  const suspended = rows.filter((r) => r.suspended).length;
  const summary = h(
    'p',
    { class: 'summary' },
    `${rows.length} job${rows.length === 1 ? '' : 's'}`,
    suspended > 0 ? h('strong', { class: 'attention' }, ` · ${suspended} suspended`) : null,
  );
  if (rows.length === 0)
    return h(
      'section',
      {},
      h('h1', {}, 'Jobs'),
      h('p', { class: 'empty' }, 'No jobs yet. Submit one with `sluice submit`.'),
    );
  const head = h(
    'tr',
    {},
    ...['Job', 'Status', 'Guarantee', 'Age', 'Records in', 'Records out', 'Lag', 'Workers'].map(
      (t) => h('th', { scope: 'col' }, t),
    ),
  );
  const body = rows.map((r) =>
    h(
      'tr',
      { class: r.suspended ? 'suspended' : r.ended ? 'ended' : '', 'data-job': r.jobId },
      h(
        'td',
        {},
        h('a', { href: `#/jobs/${r.jobId}`, 'data-key': `job-${r.jobId}` }, r.name),
        h('div', { class: 'sub' }, `${r.pipeline} · ${r.jobId}`),
      ),
      h(
        'td',
        {},
        r.suspended ? h('span', { class: 'mark', title: 'needs attention' }, '⚠ ') : null,
        badge(r.status),
      ),
      h('td', {}, r.guarantee),
      h('td', {}, age(now - r.submittedAt)),
      h('td', { class: 'num' }, count(r.metrics?.recordsIn)),
      h('td', { class: 'num' }, count(r.metrics?.recordsOut)),
      h('td', { class: 'num' }, count(r.metrics?.lag)),
      h('td', {}, r.workers.join(', ') || '–'),
    ),
  );
  return h(
    'section',
    {},
    h('h1', {}, 'Jobs'),
    summary,
    h('table', { class: 'jobs' }, h('thead', {}, head), h('tbody', {}, ...body)),
  );
}
