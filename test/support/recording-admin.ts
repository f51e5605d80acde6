import type { Admin, Kafka, NewTopic } from '../../src/kafka/port.js';

/**
 * Wraps an admin client so a test sees exactly what topic creation asks the cluster for: each
 * createTopics call's topics go to `requests` before the call is passed on.
 */
export function recordingAdmin(inner: Admin, requests: NewTopic[][] = []): Admin {
  const admin = Object.create(inner) as Admin;
  admin.createTopics = (topics) => {
    requests.push(structuredClone(topics));
    return inner.createTopics(topics);
  };
  return admin;
}

/** A Kafka whose admin clients record their createTopics requests, all into one list. */
export function recordingKafka(inner: Kafka): { kafka: Kafka; requests: NewTopic[][] } {
  const requests: NewTopic[][] = [];
  const kafka = Object.create(inner) as Kafka;
  kafka.admin = () => recordingAdmin(inner.admin(), requests);
  return { kafka, requests };
}
