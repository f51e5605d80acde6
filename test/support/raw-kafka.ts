import type { Kafka } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs/loader.js';

/**
 * A kafkajs client of Sluice's private copy (its read_committed filter fixed), quiet: tests and
 * benchmarks use it as an independent client beside the code under test, to write inputs and
 * read outputs. Expected errors would flood the output, so it logs nothing.
 */
export function rawKafka(clientId: string, brokers: string[]): Kafka {
  return new kafkajs.Kafka({ clientId, brokers, logLevel: kafkajs.logLevel.NOTHING });
}
