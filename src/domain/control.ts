import { misplaced, type Channel } from './channels.js';
import { rejectionDraft, stamp, type Cluster } from './cluster.js';
import type { Command } from './commands.js';
import { decide, type Decision } from './decide.js';
import type { EventDraft, JobEvent } from './events.js';

/** The pseudo job id under which control records that name no usable job are audited. */
export const AUDIT_JOB_ID = '_control';

/** Ids longer than this would bloat every key and header; treat them as garbage. */
export const MAX_ID_LENGTH = 200;

/**
 * The largest control record read as a command, in bytes. A command's content can end up in
 * its event (a submitted job's config), and the job log's topic takes 1 MB records by default:
 * a record near that size would make an event the log refuses, and the coordinator would retry
 * its transaction for ever. 256 KiB leaves room for the envelope; no real command comes close.
 */
export const MAX_COMMAND_BYTES = 256 * 1024;

/** Why a control record could not be read as a command. */
export interface MalformedCommand {
  malformed: true;
  reason: string;
  /** The jobId, when the record got far enough to name one. */
  jobId: string | null;
  commandType: string | null;
}

/** Where a command was read: its control record, for the audit trail of a rejection. */
export interface ControlRecord {
  /** The topic it was read from; default `control`. */
  channel?: Channel;
  /**
   * A control record below the reports' cut-over (control/cutover.ts): a report on it is
   * applied, as it was before reports had a topic of their own.
   */
  legacy?: boolean;
  partition: number;
  offset: string;
  /** The record's timestamp, epoch ms: part of its id (see recordCommandId). */
  timestamp: number;
  /** The record's first bytes, base64: shown when it could not be read at all. */
  preview: string | null;
}

/**
 * The id of a command that gives none, and of a record that cannot be read: its place on the
 * control topic, so that a record delivered again is still a repeat. The position alone is
 * not enough: a control topic deleted and created again starts at offset 0, and its records'
 * positions are those of records already answered, whose outcomes the job log keeps; each new
 * command would be ignored as a repeat of an old one. The record's timestamp tells them apart.
 */
export function recordCommandId(r: {
  channel?: Channel;
  partition: number;
  offset: string;
  timestamp: number;
}): string {
  // The reports topic has positions of its own: its records' ids must not meet the control's.
  const prefix = r.channel === 'reports' ? 'rpt' : 'ctl';
  return `${prefix}-${r.partition}-${r.offset}-${r.timestamp}`;
}

/** What a command came to: the decision (none for an unreadable record) and its events, stamped. */
export interface CommandResult {
  decision: Decision | undefined;
  /** Stamped, not folded; none for a duplicate. */
  events: JobEvent[];
}

/** What is wrong with a command's envelope, or undefined when nothing is. */
export function envelopeProblem(c: Command): string | undefined {
  if (c.commandId.length === 0 || c.commandId.length > MAX_ID_LENGTH)
    return `commandId must be 1-${MAX_ID_LENGTH} characters`;
  if (c.jobId.length === 0 || c.jobId.length > MAX_ID_LENGTH)
    return `jobId must be 1-${MAX_ID_LENGTH} characters`;
  if (c.jobId === AUDIT_JOB_ID) return `jobId "${AUDIT_JOB_ID}" is reserved`;
  return undefined;
}

/**
 * The coordinator's answer to one control record: an unreadable record or a bad envelope is
 * rejected as MALFORMED (under the job it names when it names a usable one, else under
 * {@link AUDIT_JOB_ID}, with the record's id, since its own cannot be trusted); a readable
 * command is decided against the cluster. `at` is the coordinator's time. Pure: the caller
 * folds the events once it has appended them.
 */
export function decideRecord(
  cluster: Cluster,
  command: Command | MalformedCommand,
  record: ControlRecord | null,
  at: number,
): CommandResult {
  const recordId = record ? recordCommandId(record) : undefined;
  const source = record && { partition: record.partition, offset: record.offset };
  if ('malformed' in command) {
    const jobId =
      command.jobId !== null && command.jobId.length <= MAX_ID_LENGTH
        ? command.jobId
        : AUDIT_JOB_ID;
    const type = command.commandType ?? '(unreadable)';
    const draft = rejectionDraft(
      jobId,
      type,
      'MALFORMED',
      command.reason,
      source,
      record?.preview ?? null,
    );
    const ctx = { commandId: recordId ?? `malformed-${at}`, issuedBy: 'unknown', at };
    return { decision: undefined, events: stamp(cluster, [draft], ctx) };
  }
  const ctx = { commandId: command.commandId, issuedBy: command.issuedBy, at };
  const problem = envelopeProblem(command);
  if (problem) {
    const draft = rejectionDraft(AUDIT_JOB_ID, command.type, 'MALFORMED', problem, source, null);
    return {
      decision: undefined,
      events: stamp(cluster, [draft], { ...ctx, commandId: recordId ?? command.commandId }),
    };
  }
  // Without a record (a replay of commands in tests) there is no topic to check.
  const wrongTopic =
    record &&
    misplaced(command.type, {
      channel: record.channel ?? 'control',
      legacy: record.legacy ?? false,
    });
  if (wrongTopic) {
    // Under the record's id, like a malformed record: the command's own id may be one a
    // genuine command used or will use, whose outcome a forgery must not take.
    const draft = rejectionDraft(command.jobId, command.type, 'WRONG_TOPIC', wrongTopic, source);
    const commandId = recordId ?? `misplaced-${command.commandId}`;
    return { decision: undefined, events: stamp(cluster, [draft], { ...ctx, commandId }) };
  }
  const decision = decide(cluster, command);
  let drafts: EventDraft[];
  switch (decision.kind) {
    case 'duplicate':
      return { decision, events: [] };
    case 'rejected':
      drafts = [
        rejectionDraft(command.jobId, command.type, decision.code, decision.reason, source, null),
      ];
      break;
    case 'accepted':
      drafts = decision.events;
      break;
  }
  return { decision, events: stamp(cluster, drafts, ctx) };
}
