import type { SluiceClient } from '../client/client.js';
import type { Job } from '../client/job.js';
import type { JobConfigDeltaInput } from '../domain/config.js';
import { SluiceError, isSluiceError } from '../domain/errors.js';
import { CommandRejectedError } from '../domain/job-errors.js';
import { redactText } from '../observability/redact.js';
import type { ActionName, ApiError } from './api-types.js';

/** What the page posts to `/api/jobs/<id>/actions`. */
export interface ActionRequest {
  action: ActionName;
  /** For dead-letter: the topic the failing record goes to. */
  deadLetterTopic?: string;
  /** For export-snapshot: the snapshot's name. */
  name?: string;
  /** For update-config: the fields to change. */
  delta?: {
    snapshotIntervalMs?: number;
    suspendOnFailure?: boolean;
    args?: Record<string, string>;
  };
}

const ACTIONS: readonly ActionName[] = [
  'suspend',
  'resume',
  'skip',
  'dead-letter',
  'cancel',
  'restart',
  'export-snapshot',
  'update-config',
];

/**
 * Runs an action through the same client methods the CLI's verbs call, so the client's own
 * checks apply (a missing dead-letter topic, deleted records, a retry in the code that failed)
 * and the coordinator records the console's `issuedBy`. Resolves once the coordinator applied
 * the command; rejects with its refusal (`CommandRejectedError`) otherwise.
 */
export async function runAction(client: SluiceClient, jobRef: string, body: unknown): Promise<Job> {
  const req = parseAction(body);
  const job = client.getJob(jobRef);
  switch (req.action) {
    case 'suspend':
      await job.suspend();
      break;
    case 'resume':
      await job.resume({ failingRecord: 'RETRY' });
      break;
    case 'skip':
      await job.resume({ failingRecord: 'SKIP' });
      break;
    case 'dead-letter':
      await job.resume({
        failingRecord: 'DEAD_LETTER',
        deadLetterTopic: req.deadLetterTopic ?? '',
      });
      break;
    case 'cancel':
      await job.cancel();
      break;
    case 'restart':
      await job.restart();
      break;
    case 'export-snapshot':
      await job.exportSnapshot(req.name ?? '');
      break;
    case 'update-config':
      await job.updateConfig(req.delta as JobConfigDeltaInput);
      break;
  }
  return job;
}

/** The request's body as an action, or SLUICE_USAGE naming what is wrong with it. */
export function parseAction(body: unknown): ActionRequest {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const action = b.action as ActionName;
  if (!ACTIONS.includes(action))
    throw new SluiceError(
      'SLUICE_USAGE',
      `Unknown action ${JSON.stringify(b.action)}; expected one of ${ACTIONS.join(', ')}.`,
    );
  const text = (field: string): string | undefined => {
    const v = b[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      throw new SluiceError('SLUICE_USAGE', `"${field}" must be a non-empty string.`);
    return v.trim();
  };
  const out: ActionRequest = { action };
  const topic = text('deadLetterTopic');
  const name = text('name');
  if (action === 'dead-letter' && topic === undefined)
    throw new SluiceError(
      'SLUICE_USAGE',
      'Dead-letter needs the topic to write the failing record to.',
    );
  if (action === 'export-snapshot' && name === undefined)
    throw new SluiceError('SLUICE_USAGE', 'Export needs a name for the snapshot.');
  if (action === 'update-config') {
    if (typeof b.delta !== 'object' || b.delta === null || Object.keys(b.delta).length === 0)
      throw new SluiceError('SLUICE_USAGE', 'Update config needs at least one field to change.');
    out.delta = b.delta;
  }
  if (topic !== undefined) out.deadLetterTopic = topic;
  if (name !== undefined) out.name = name;
  return out;
}

/** An error as the API answers it, with the HTTP status that fits it. */
export function apiError(err: unknown): { status: number; body: ApiError } {
  const message = redactText(err instanceof Error ? err.message : String(err));
  if (err instanceof CommandRejectedError)
    return {
      status: 409,
      body: {
        error: {
          code: err.code,
          message,
          rejectionCode: err.rejectionCode,
          reason: redactText(err.reason),
        },
      },
    };
  if (!isSluiceError(err))
    return { status: 500, body: { error: { code: 'SLUICE_UNEXPECTED', message } } };
  const status =
    err.code === 'SLUICE_USAGE' || err.code === 'SLUICE_CONFIG_INVALID'
      ? 400
      : err.code === 'SLUICE_JOB_NOT_FOUND'
        ? 404
        : err.code === 'SLUICE_COMMAND_TIMEOUT'
          ? 504
          : 409;
  return { status, body: { error: { code: err.code, message } } };
}
