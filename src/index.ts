/**
 * Sluice: a stream processor on Apache Kafka whose failing jobs are suspended, not killed.
 *
 * @example
 * ```ts
 * import { resolveInfra } from 'sluice/infra';
 * import { SluiceError } from 'sluice';
 *
 * const infra = await resolveInfra();
 * console.log(infra.brokers, infra.registryUrl);
 * await infra.stop();
 * ```
 */
export {
  SluiceError,
  isSluiceError,
  ERROR_CODES,
  type ErrorCode,
  type SluiceErrorOptions,
} from './domain/errors.js';
