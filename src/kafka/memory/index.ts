/**
 * The in-memory Kafka: the port (`../port.ts`) on a deterministic, single-broker cluster in
 * memory, driven by a `VirtualClock`, for unit tests and the seeded simulation.
 */
export { VirtualClock, VIRTUAL_EPOCH, type VirtualClockOptions } from './clock.js';
export {
  MemoryCluster,
  MemoryKafka,
  type MemoryClusterOptions,
  type MemoryKafkaOptions,
} from './cluster.js';
// Test-support shapes: faults to inject, and views of what the cluster holds.
export type { FaultOp, FaultSpec } from './faults.js';
export type {
  ClusterRecord,
  GroupView,
  OpenTransaction,
  ReadOptions,
  Watermarks,
} from './inspect.js';
export { murmur2, partitionForKey } from './murmur2.js';
