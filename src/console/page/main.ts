import type { JobDetail, JobMetrics, JobRow, StreamMessage } from '../api-types.js';
import { ACTION_SPECS } from './actions.js';
import { api, ApiFailure, follow } from './api.js';
import { renderDetail } from './detail.js';
import { confirmAction } from './dialog.js';
import { h } from './dom.js';
import { renderList } from './list.js';

/**
 * The console's page: a list of jobs and a page per job, routed by the address's hash
 * (`#/`, `#/jobs/<id>`), kept live by the server's event stream. The view is drawn again on
 * every change; the element that had the focus gets it back, so the keyboard never loses its
 * place when an event arrives.
 */

const view = document.getElementById('view') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;
const rows = new Map<string, JobRow>();
let detail: JobDetail | null = null;
/** The outcome of the last action on the open job: a refusal's reason, or what was done. */
let message: { kind: 'error' | 'ok'; text: string; code?: string } | null = null;

function route(): { jobId: string | null } {
  const m = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  return { jobId: m?.[1] ? decodeURIComponent(m[1]) : null };
}

function sorted(): JobRow[] {
  return [...rows.values()].sort(
    (a, b) => Number(b.suspended) - Number(a.suspended) || b.submittedAt - a.submittedAt,
  );
}

function draw(): void {
  const focused = document.activeElement?.getAttribute('data-key');
  const { jobId } = route();
  const now = Date.now();
  const note = message
    ? h(
        'div',
        {
          class: `message ${message.kind}`,
          role: message.kind === 'error' ? 'alert' : 'status',
          'data-role': 'message',
          ...(message.code ? { 'data-code': message.code } : {}),
        },
        message.text,
      )
    : null;
  const content =
    jobId && detail?.row.jobId === jobId
      ? renderDetail(detail, now, (a) => void act(a), note)
      : renderList(sorted(), now);
  view.replaceChildren(content);
  document.title =
    jobId && detail ? `${detail.row.name} · ${detail.row.status} · Sluice` : 'Jobs · Sluice';
  if (focused) view.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

async function load(): Promise<void> {
  const list = await api.jobs();
  rows.clear();
  for (const r of list) rows.set(r.jobId, r);
  const { jobId } = route();
  detail = jobId ? await api.job(jobId) : null;
  draw();
}

/** Events that change more of the job page than its row and timeline. */
const RELOADS = new Set([
  'SnapshotExported',
  'ConfigUpdated',
  'SnapshotDeleted',
  'CommandRejected',
]);

function onMessage(m: StreamMessage): void {
  if (m.type === 'removed') {
    rows.delete(m.jobId);
    if (detail?.row.jobId === m.jobId) location.hash = '#/';
    return draw();
  }
  if (m.type === 'metrics') {
    // Unchanged figures (an idle or suspended job) redraw nothing: the page stays still under
    // the pointer and the keyboard.
    let changed = false;
    for (const x of m.rows) {
      changed ||= !sameFigures(rows.get(x.jobId)?.metrics ?? null, x.metrics);
      const r = rows.get(x.jobId);
      if (r) rows.set(x.jobId, { ...r, metrics: x.metrics });
      if (detail?.row.jobId === x.jobId && x.metrics)
        detail = {
          ...detail,
          row: { ...detail.row, metrics: x.metrics },
          metricsHistory: [...detail.metricsHistory, x.metrics].slice(-120),
        };
    }
    return changed ? draw() : undefined;
  }
  rows.set(m.row.jobId, m.row);
  if (detail?.row.jobId === m.row.jobId) {
    // A new status changes the cause, the next step and the buttons: those come with the job.
    if (m.entry.status !== null || RELOADS.has(m.entry.type)) void reloadDetail(m.row.jobId);
    else
      detail = {
        ...detail,
        row: m.row,
        timeline: [...detail.timeline, m.entry],
        lastSnapshot:
          m.entry.type === 'SnapshotCommitted'
            ? { snapshotId: m.entry.detail.split(' ')[1] ?? '', at: m.entry.at }
            : detail.lastSnapshot,
      };
  }
  draw();
}

function sameFigures(a: JobMetrics | null, b: JobMetrics | null): boolean {
  return a?.recordsIn === b?.recordsIn && a?.recordsOut === b?.recordsOut && a?.lag === b?.lag;
}

/** The latest reload asked for: an older one's answer, arriving later, must not overwrite it. */
let reloads = 0;

async function reloadDetail(jobId: string): Promise<void> {
  const mine = ++reloads;
  const fresh = await api.job(jobId);
  if (mine === reloads && route().jobId === jobId) {
    detail = fresh;
    draw();
  }
}

async function act(name: keyof typeof ACTION_SPECS): Promise<void> {
  if (!detail) return;
  const spec = ACTION_SPECS[name];
  const values = await confirmAction(spec.confirm(detail));
  const focusBack = (): void =>
    view.querySelector<HTMLElement>(`[data-key="action-${name}"]`)?.focus();
  if (values === null) return focusBack();
  const jobId = detail.row.jobId;
  message = {
    kind: 'ok',
    text: `${spec.label.replace('…', '')}: sent, waiting for the coordinator…`,
  };
  draw();
  try {
    await api.act(jobId, spec.body(values));
    message = { kind: 'ok', text: `${spec.label.replace('…', '')}: done.` };
  } catch (err) {
    message =
      err instanceof ApiFailure
        ? {
            kind: 'error',
            code: err.body.rejectionCode ?? err.body.code,
            text: err.body.reason
              ? `Refused (${err.body.rejectionCode}): ${err.body.reason}`
              : `${err.body.code}: ${err.body.message}`,
          }
        : { kind: 'error', text: String(err) };
  }
  await reloadDetail(jobId);
  draw();
  focusBack();
}

window.addEventListener('hashchange', () => {
  message = null;
  void load();
});

follow(
  onMessage,
  () => {
    live.textContent = 'live';
    live.className = 'live on';
    void load();
  },
  () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  },
);

void api.info().then((i) => {
  const who = document.getElementById('who');
  if (who) who.textContent = `${i.namespace} · acting as ${i.issuedBy}`;
});
// Ages on the page grow while nothing happens.
setInterval(draw, 10_000);
