import type { Clock } from '../domain/clock.js';
import { isTransient } from '../kafka/errors.js';
import type { ConsumedRecord } from '../kafka/port.js';
import type { RetryBudget } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { JobMetrics } from '../observability/metrics.js';
import type { BatchControl } from './hop-spec.js';
import { DeserializationFailure } from './serde.js';
import type { Task } from './task.js';

/**
 * A record that failed because of something outside it (an Avro source record whose writer's
 * schema cannot be fetched while the registry is down) is not the record's fault: the task
 * waits with backoff and reads it again, within the retry budget, instead of suspending the
 * job. Resolved up to the record before it, so kafkajs delivers it again. False once the
 * budget is spent, or for any other failure: then it is reported like a poison record, with
 * the registry's error as the cause.
 */
export async function waitOutRead(
  budget: RetryBudget,
  o: { log: Logger; metrics: JobMetrics; clock: Clock },
  failure: unknown,
  task: Task,
  record: ConsumedRecord,
  ctl: BatchControl,
): Promise<boolean> {
  if (!(failure instanceof DeserializationFailure) || !isTransient(failure.cause)) {
    budget.succeeded();
    return false;
  }
  const delay = budget.failed();
  if (delay === undefined) return false;
  o.metrics.readRetried();
  o.log.warn(
    {
      err: failure.cause,
      task: `${task.topic}:${task.partition}`,
      offset: record.offset,
      retryInMs: delay,
    },
    'a source record could not be read for now (schema registry unavailable); reading it again',
  );
  await o.clock.sleep(delay);
  await ctl.heartbeat();
  return true;
}
