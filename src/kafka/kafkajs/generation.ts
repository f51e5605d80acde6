/** Tells which ConsumerGroup class reports its generation, whichever copy of this module made it. */
export const GENERATION_MARK = Symbol.for('sluice.groupJoinGeneration');

/** kafkajs's GROUP_JOIN instrumentation event. */
const GROUP_JOIN = 'consumer.group_join';
/** On a consumer's event emitter: its current ConsumerGroup (a restarted consumer makes a new one). */
const CURRENT = Symbol('sluice.currentConsumerGroup');

interface Emitter {
  emit(name: string, payload: unknown): unknown;
  [CURRENT]?: { generationId: number | null };
}

type ConsumerGroupClass = new (options: Record<string, unknown>) => {
  instrumentationEmitter: Emitter;
  generationId: number | null;
};

/**
 * kafkajs 2.2.4's ConsumerGroup, whose GROUP_JOIN event also carries the generation it joined.
 * The event gives the member id and the assignment; the generation, which a transaction's
 * offsets must name for the group coordinator to fence a zombie (KIP-447, see
 * txn-offset-commit.ts), stays private to the consumer group otherwise.
 */
export function withGenerationInJoin(ConsumerGroup: ConsumerGroupClass): ConsumerGroupClass {
  class ReportingGeneration extends ConsumerGroup {
    constructor(options: Record<string, unknown>) {
      super(options);
      const emitter = this.instrumentationEmitter;
      if (emitter[CURRENT] === undefined) {
        const emit = emitter.emit.bind(emitter);
        emitter.emit = (name, payload) =>
          emit(
            name,
            name === GROUP_JOIN
              ? { ...(payload as object), generationId: emitter[CURRENT]?.generationId ?? null }
              : payload,
          );
      }
      emitter[CURRENT] = this;
    }
  }
  Object.defineProperty(ReportingGeneration, GENERATION_MARK, { value: true });
  return ReportingGeneration;
}
