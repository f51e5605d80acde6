import type { CauseView, JobDetail } from '../api-types.js';
import { ACTION_SPECS } from './actions.js';
import { rates, sparkline } from './chart.js';
import { age, badge, count, h, time } from './dom.js';

/** Calls back with the action a button asks for. */
export type OnAction = (name: keyof typeof ACTION_SPECS) => void;

/** The job page: status and what to do next, the actions, the cause, the timeline, snapshots. */
export function renderDetail(
  d: JobDetail,
  now: number,
  onAction: OnAction,
  message: HTMLElement | null,
): HTMLElement {
  const r = d.row;
  return h(
    'section',
    { class: 'detail', 'data-job': r.jobId },
    h('p', { class: 'crumbs' }, h('a', { href: '#/', 'data-key': 'back' }, '← All jobs')),
    h('h1', {}, r.name, ' ', badge(r.status)),
    h('p', { class: 'next', 'data-role': 'next-step' }, d.nextStep),
    message,
    h(
      'div',
      { class: 'actions', role: 'toolbar', 'aria-label': 'Job actions' },
      ...d.actions.map((a) =>
        h(
          'button',
          {
            type: 'button',
            class: a === 'cancel' ? 'danger' : a === 'resume' ? 'primary' : 'secondary',
            'data-action': a,
            'data-key': `action-${a}`,
            onclick: () => onAction(a),
          },
          ACTION_SPECS[a].label,
        ),
      ),
    ),
    d.cause ? causePanel(d.cause, d.causeKind) : null,
    h(
      'div',
      { class: 'grid' },
      panel(
        'Job',
        facts([
          ['id', r.jobId],
          ['pipeline', r.pipeline],
          ['guarantee', r.guarantee],
          ['on failure', d.config.suspendOnFailure ? 'suspend' : 'fail'],
          [
            'submitted',
            `${time(r.submittedAt)} by ${r.submittedBy} (${age(now - r.submittedAt)} ago)`,
          ],
          ['run', String(r.run)],
          ['workers', r.workers.join(', ') || '–'],
          [
            'args',
            Object.entries(d.config.args)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || '–',
          ],
        ]),
      ),
      panel(
        'Progress',
        facts([
          ['records in', count(r.metrics?.recordsIn)],
          ['records out', count(r.metrics?.recordsOut)],
          ['lag', count(r.metrics?.lag)],
          ['snapshots', `every ${d.config.snapshotIntervalMs} ms`],
          [
            'last snapshot',
            d.lastSnapshot ? `${d.lastSnapshot.snapshotId} at ${time(d.lastSnapshot.at)}` : '–',
          ],
        ]),
      ),
    ),
    d.metricsHistory.length > 0
      ? panel(
          'Over time',
          h(
            'div',
            { class: 'charts' },
            sparkline('Records in', rates(d.metricsHistory, 'recordsIn'), '/s'),
            sparkline('Records out', rates(d.metricsHistory, 'recordsOut'), '/s'),
            sparkline(
              'Lag',
              d.metricsHistory.map((m) => m.lag),
              'records',
            ),
          ),
        )
      : null,
    hostsPanel(d),
    d.exported.length > 0
      ? panel(
          'Exported snapshots',
          table(
            ['Name', 'Snapshot', 'Exported', 'By', 'Stages'],
            d.exported.map((x) => [
              x.name,
              x.snapshotId,
              time(x.exportedAt),
              x.exportedBy,
              x.stages
                .map((s) => `${s.stage}: ${s.records} state, ${s.inputRecords} unread`)
                .join('; ') || '–',
            ]),
          ),
        )
      : null,
    panel(
      'Timeline',
      d.timelineOmitted > 0
        ? h(
            'p',
            { class: 'sub' },
            `${d.timelineOmitted} earlier events not shown; \`sluice history ${r.name}\` lists them all.`,
          )
        : null,
      timelineTable(d),
    ),
  );
}

function causePanel(c: CauseView, kind: JobDetail['causeKind']): HTMLElement {
  const where = [
    c.worker && `worker ${c.worker}`,
    c.stage && `stage “${c.stage}”`,
    c.fingerprint && `code ${c.fingerprint}`,
  ]
    .filter(Boolean)
    .join(', ');
  const rec = c.record;
  return h(
    'section',
    { class: `panel cause ${c.dueToError ? 'error' : ''}`, 'aria-labelledby': 'cause-title' },
    h('h2', { id: 'cause-title' }, kind === 'failure' ? 'Why it failed' : 'Why it is suspended'),
    h('p', {}, c.description),
    c.error
      ? h(
          'p',
          { class: 'error-line', 'data-role': 'error' },
          h('strong', {}, c.error.name),
          `: ${c.error.message}`,
        )
      : null,
    h(
      'p',
      { class: 'sub' },
      `${time(c.at)}${where ? ` · ${where}` : ''}${c.byUser ? ' · on request' : ''}`,
    ),
    rec
      ? h(
          'div',
          { class: 'record', 'data-role': 'record' },
          h('h3', {}, 'Failing record'),
          facts([
            ['topic', rec.topic],
            ['partition', String(rec.partition)],
            ['offset', rec.offset],
            ['key', rec.key ?? '(null)'],
          ]),
          h('pre', { class: 'value', 'aria-label': 'value preview' }, rec.valuePreview ?? '(null)'),
        )
      : null,
    h(
      'p',
      { class: 'sub' },
      c.snapshotId
        ? `A resume starts from snapshot ${c.snapshotId}.`
        : 'No snapshot was recorded when it stopped.',
    ),
    c.error?.stack
      ? h('details', {}, h('summary', {}, 'Stack trace'), h('pre', {}, c.error.stack))
      : null,
  );
}

function hostsPanel(d: JobDetail): HTMLElement {
  if (d.hosts.length === 0)
    return panel(
      'Workers hosting the pipeline',
      h(
        'p',
        { class: 'sub' },
        `No live worker hosts pipeline “${d.row.pipeline}”; a resumed job waits for one.`,
      ),
    );
  return panel(
    'Workers hosting the pipeline',
    table(
      ['Worker', 'Code', 'Compared with the failure', 'Last seen'],
      d.hosts.map((w) => [
        w.workerId,
        w.fingerprint,
        w.runsFailingCode === null
          ? '–'
          : w.runsFailingCode
            ? 'the code that failed'
            : 'other code',
        time(w.seenAt),
      ]),
    ),
  );
}

function timelineTable(d: JobDetail): HTMLElement {
  const rows = [...d.timeline].reverse();
  return h(
    'table',
    { class: 'timeline' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Time', 'Event', 'Status', 'Who', 'Detail'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((e) =>
        h(
          'tr',
          { class: e.rejected ? 'rejected' : '', 'data-type': e.type },
          h('td', { class: 'nowrap' }, time(e.at)),
          h('td', {}, e.type),
          h('td', {}, e.status ? badge(e.status) : ''),
          h('td', {}, e.who),
          h('td', {}, e.detail),
        ),
      ),
    ),
  );
}

function panel(title: string, ...content: (HTMLElement | null)[]): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...content);
}

function facts(rows: [string, string][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)]),
  );
}

function table(head: string[], rows: string[][]): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}
