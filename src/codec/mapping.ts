import type { Command, CommandType } from '../domain/commands.js';
import { COMMAND_TYPES, isReport } from '../domain/commands.js';
import type { JobConfigDelta } from '../domain/config.js';
import { EVENT_TYPES, type JobEvent, type KnownEventType } from '../domain/events.js';

// The Avro side wraps each payload in a union branch named after its type; the domain side is
// flat ({ type, ...envelope, ...payload }). These functions are the only place that knows both.

const EVENT_NS = 'dev.sluice.events.';
const COMMAND_NS = 'dev.sluice.commands.';
const EVENT_ENVELOPE = ['eventId', 'jobId', 'seq', 'commandId', 'issuedBy', 'at'] as const;
const COMMAND_ENVELOPE = ['commandId', 'jobId', 'issuedBy', 'at'] as const;

type Obj = Record<string, unknown>;

/** A domain event as the Avro record `dev.sluice.events.JobEvent`. */
export function eventToAvro(event: JobEvent): Obj {
  if (event.type === 'Unknown') throw new Error('an Unknown event is never written back');
  const { envelope, payload } = split(event as unknown as Obj, EVENT_ENVELOPE);
  return { ...envelope, payload: { [`${EVENT_NS}${event.type}`]: deltaToAvro(payload) } };
}

/** An Avro `JobEvent` record as a domain event; a payload type this reader does not know becomes `Unknown`. */
export function eventFromAvro(record: Obj): JobEvent {
  const { envelope, branch, payload } = unwrap(record, EVENT_ENVELOPE);
  const type = branch.startsWith(EVENT_NS) ? branch.slice(EVENT_NS.length) : branch;
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ...envelope, type: 'Unknown', originalType: branch, payload } as JobEvent;
  }
  return {
    ...envelope,
    type: type as KnownEventType,
    ...deltaFromAvro(payload),
  } as unknown as JobEvent;
}

/** A domain command as the Avro record `dev.sluice.commands.Command`. */
export function commandToAvro(command: Command): Obj {
  const { envelope, payload } = split(command as unknown as Obj, COMMAND_ENVELOPE);
  // A report's run is optional in the domain and nullable in Avro.
  if (isReport(command)) payload.run = command.run ?? null;
  return { ...envelope, payload: { [`${COMMAND_NS}${command.type}`]: deltaToAvro(payload) } };
}

/** An Avro `Command` record as a domain command, or an error message when its type is unknown. */
export function commandFromAvro(record: Obj): Command | string {
  const { envelope, branch, payload } = unwrap(record, COMMAND_ENVELOPE);
  const type = branch.startsWith(COMMAND_NS) ? branch.slice(COMMAND_NS.length) : branch;
  if (!(COMMAND_TYPES as readonly string[]).includes(type))
    return `unknown command type "${branch}"`;
  // No run (a writer older than runs, or none given): the domain leaves the field out.
  if (payload.run === null) delete payload.run;
  return {
    ...envelope,
    type: type as CommandType,
    ...deltaFromAvro(payload),
  } as unknown as Command;
}

function split(value: Obj, envelopeKeys: readonly string[]): { envelope: Obj; payload: Obj } {
  const envelope: Obj = {};
  const payload: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'type') continue;
    if (envelopeKeys.includes(k)) envelope[k] = v;
    else payload[k] = v;
  }
  return { envelope, payload };
}

function unwrap(
  record: Obj,
  envelopeKeys: readonly string[],
): { envelope: Obj; branch: string; payload: Obj } {
  const envelope: Obj = {};
  for (const k of envelopeKeys) envelope[k] = record[k];
  const wrapped = (record.payload ?? {}) as Obj;
  const [branch, payload] = Object.entries(wrapped)[0] ?? ['(none)', {}];
  return { envelope, branch, payload: { ...(payload as Obj) } };
}

/** A config delta is partial in the domain and all-nullable in Avro. */
function deltaToAvro(payload: Obj): Obj {
  if (!('delta' in payload)) return payload;
  const d = payload.delta as JobConfigDelta;
  return {
    ...payload,
    delta: {
      suspendOnFailure: d.suspendOnFailure ?? null,
      snapshotIntervalMs: d.snapshotIntervalMs ?? null,
      args: d.args ?? null,
      errorPolicy: d.errorPolicy ?? null,
    },
  };
}

function deltaFromAvro(payload: Obj): Obj {
  if (!('delta' in payload) || payload.delta === null || typeof payload.delta !== 'object')
    return payload;
  const delta: Obj = {};
  for (const [k, v] of Object.entries(payload.delta as Obj))
    if (v !== null && v !== undefined) delta[k] = v;
  return { ...payload, delta };
}
