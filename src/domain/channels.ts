/**
 * Which topic each command travels on (issue 15). Operators' commands go to `<ns>.control`,
 * workers' reports to `<ns>.reports`, so that Kafka ACLs can tell the two writers apart: an
 * operator principal cannot write a report, a worker principal cannot submit, resume or cancel.
 * The broker refuses the write; the coordinator refuses what arrives on the wrong topic all the
 * same, since a cluster without ACLs (or with wider ones) lets anything through.
 */
import { WORKER_COMMAND_TYPES, type CommandType } from './commands.js';

/** A topic commands arrive on: `<ns>.control` or `<ns>.reports`. */
export type Channel = 'control' | 'reports';

/** The topic a command of this type must be sent to. */
export function channelOf(type: string): Channel {
  return (WORKER_COMMAND_TYPES as readonly string[]).includes(type) ? 'reports' : 'control';
}

/**
 * Where a record was read, as the channel rule needs it. `legacy`: a record on the control
 * topic below the cut-over, written before reports had a topic of their own (see
 * control/cutover.ts): a report there is applied as before.
 */
export interface ReadFrom {
  channel: Channel;
  legacy: boolean;
}

/** Why a command may not be applied from where it was read, or undefined when it may. */
export function misplaced(type: CommandType, from: ReadFrom): string | undefined {
  const wanted = channelOf(type);
  if (wanted === from.channel) return undefined;
  if (wanted === 'reports' && from.legacy) return undefined;
  return wanted === 'reports'
    ? `${type} is a worker's report: it is read only from the namespace's reports topic (<ns>.reports), which only worker principals may write. One on the control topic is refused, since any operator could have written it.`
    : `${type} is an operator's command: it is read only from the namespace's control topic (<ns>.control). One on the reports topic is refused; send it with the CLI or SluiceClient.`;
}
