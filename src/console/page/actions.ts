import type { ActionName, JobDetail } from '../api-types.js';
import type { Confirmation } from './dialog.js';

/** A button of the job page: its label, what the confirmation asks, and the request it sends. */
export interface ActionSpec {
  label: string;
  confirm: (d: JobDetail) => Confirmation;
  body: (values: Record<string, string>) => Record<string, unknown>;
}

const rec = (d: JobDetail): string => {
  const r = d.cause?.record;
  return r ? `${r.topic} partition ${r.partition} offset ${r.offset}` : 'the failing record';
};

/** Every action the page offers, in the order its buttons appear. */
export const ACTION_SPECS: Record<ActionName, ActionSpec> = {
  resume: {
    label: 'Resume',
    confirm: (d) => ({
      title: `Resume ${d.row.name}?`,
      body: d.cause?.record
        ? `The job goes on from its last snapshot and retries ${rec(d)}. Deploy the fix first, or it fails again.`
        : 'The job goes on from its last snapshot.',
      confirm: 'Resume',
    }),
    body: () => ({ action: 'resume' }),
  },
  skip: {
    label: 'Skip record',
    confirm: (d) => ({
      title: `Skip the failing record of ${d.row.name}?`,
      body: `The job resumes past ${rec(d)}; that record is not processed.`,
      confirm: 'Skip and resume',
    }),
    body: () => ({ action: 'skip' }),
  },
  'dead-letter': {
    label: 'Dead-letter…',
    confirm: (d) => ({
      title: `Dead-letter the failing record of ${d.row.name}?`,
      body: `${rec(d)} is written to the topic below, with the cause in its headers; the job then resumes past it. The topic must exist.`,
      confirm: 'Dead-letter and resume',
      fields: [{ name: 'deadLetterTopic', label: 'Dead-letter topic' }],
    }),
    body: (v) => ({ action: 'dead-letter', deadLetterTopic: v.deadLetterTopic }),
  },
  suspend: {
    label: 'Suspend',
    confirm: (d) => ({
      title: `Suspend ${d.row.name}?`,
      body: 'Its tasks stop; the snapshot and state are kept, and Resume goes on from there.',
      confirm: 'Suspend',
    }),
    body: () => ({ action: 'suspend' }),
  },
  restart: {
    label: 'Restart',
    confirm: (d) => ({
      title: `Restart ${d.row.name}?`,
      body: 'Every worker stops the job’s tasks and starts them again from the committed offsets.',
      confirm: 'Restart',
    }),
    body: () => ({ action: 'restart' }),
  },
  'export-snapshot': {
    label: 'Export snapshot…',
    confirm: (d) => ({
      title: `Export a snapshot of ${d.row.name}?`,
      body: 'The job’s state is copied under a name new jobs can start from.',
      confirm: 'Export',
      fields: [{ name: 'name', label: 'Snapshot name', value: `${d.row.name}-${d.row.run}` }],
    }),
    body: (v) => ({ action: 'export-snapshot', name: v.name }),
  },
  'update-config': {
    label: 'Update config…',
    confirm: (d) => ({
      title: `Change the snapshot interval of ${d.row.name}?`,
      body: 'It applies from the next resume on.',
      confirm: 'Update',
      fields: [
        {
          name: 'snapshotIntervalMs',
          label: 'Snapshot interval (ms)',
          value: String(d.config.snapshotIntervalMs),
          hint: '100 to 86400000',
        },
      ],
    }),
    body: (v) => ({
      action: 'update-config',
      delta: { snapshotIntervalMs: Number(v.snapshotIntervalMs) },
    }),
  },
  cancel: {
    label: 'Cancel job',
    confirm: (d) => ({
      title: `Cancel ${d.row.name}?`,
      body: 'The job ends for good and cannot be resumed. Its state topics and groups are deleted.',
      confirm: 'Cancel job',
      danger: true,
    }),
    body: () => ({ action: 'cancel' }),
  },
};
