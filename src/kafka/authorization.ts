/**
 * Kafka's authorizer refusals as {@link NotAuthorizedError}s that name the missing binding
 * (issue 15). The broker's answer says only which kind of resource was refused
 * (TOPIC_AUTHORIZATION_FAILED, …), never its name; the call that was refused knows what it
 * asked for, so each call of an adapter says what it needs, and the refusal is read by data
 * (`type`), never by message.
 */
import type { AclOperation, AclResourceType } from '../domain/acl.js';
import { NotAuthorizedError } from '../domain/errors.js';
import { errorType } from './errors.js';

const REFUSED: Record<string, AclResourceType> = {
  TOPIC_AUTHORIZATION_FAILED: 'TOPIC',
  GROUP_AUTHORIZATION_FAILED: 'GROUP',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'TRANSACTIONAL_ID',
  CLUSTER_AUTHORIZATION_FAILED: 'CLUSTER',
};

/** What a call needs, by the kind of resource: the operation, and the resources' names. */
export type Needs = Partial<
  Record<AclResourceType, readonly [AclOperation, string | readonly string[]]>
>;

/**
 * The kind of resource an authorizer refused, looking through the wrappers clients put around
 * an error (kafkajs's exhausted retries, aggregates of per-topic errors); undefined otherwise.
 */
export function refusedResource(err: unknown, depth = 0): AclResourceType | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const type = errorType(err);
  if (type !== undefined && type in REFUSED) return REFUSED[type];
  const e = err as { originalError?: unknown; cause?: unknown; errors?: unknown };
  const nested: unknown[] = Array.isArray(e.errors) ? (e.errors as unknown[]) : [];
  for (const inner of [e.originalError, e.cause, ...nested]) {
    const found = refusedResource(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** `err` as a {@link NotAuthorizedError} when an authorizer refused it, else `err` itself. */
export function asNotAuthorized(err: unknown, needs: Needs, principal?: string): unknown {
  if (err instanceof NotAuthorizedError) return err;
  const kind = refusedResource(err);
  if (!kind) return err;
  const [operation, names] = needs[kind] ?? ['ANY', '(not named by the broker)'];
  const resource = typeof names === 'string' ? names : names.join(', ');
  return new NotAuthorizedError(operation, kind, resource, { cause: err, principal });
}

/** Runs `call`, turning an authorizer's refusal into a {@link NotAuthorizedError}. */
export async function authorized<T>(
  needs: Needs,
  call: () => Promise<T>,
  principal?: string,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw asNotAuthorized(err, needs, principal);
  }
}
