import { SluiceError } from '../domain/errors.js';
import type { Admin } from '../kafka/port.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { allStages, lateTopicOf } from '../pipeline/stages.js';

/**
 * Refuses a run whose window or stream-join stages name a late-records topic that does not
 * exist: the first late value would otherwise fail the commit it is in, far from its cause (as
 * a dead-letter topic is checked before a run).
 */
export async function checkLateTopics(admin: Admin, pipeline: PipelineDef): Promise<void> {
  const late = allStages(pipeline.stages).flatMap((s) => {
    const topic = lateTopicOf(s);
    return topic !== undefined ? [{ stage: s.name, kind: s.kind, topic }] : [];
  });
  if (late.length === 0) return;
  const topics = new Set(await admin.listTopics());
  const missing = late.filter((l) => !topics.has(l.topic));
  if (missing.length > 0)
    throw new SluiceError(
      'SLUICE_TOPIC_MISCONFIGURED',
      `The late-records topic of ${missing.map((m) => `${m.kind} "${m.stage}" (${m.topic})`).join(', ')} does not exist. Create it, then resume the job; or remove lateTopic to drop late values and count them.`,
      { details: { missing: missing.map(({ stage, topic }) => ({ stage, topic })) } },
    );
}
