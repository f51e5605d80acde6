import { describe, expect, it } from 'vitest';
import { NotAuthorizedError } from '../../src/domain/errors.js';
import { asNotAuthorized, authorized, refusedResource } from '../../src/kafka/authorization.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';

// An authorizer's refusals as typed errors naming the missing binding (src/kafka/authorization.ts),
// read by the protocol error's type through the wrappers kafkajs puts around it.

const refused = (type: string) => new KafkaProtocolError(type, 'Not authorized');

describe('authorizer refusals', () => {
  it('are found through retry wrappers and aggregates, by type', () => {
    const wrapped = Object.assign(new Error('retries exhausted'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      originalError: refused('TOPIC_AUTHORIZATION_FAILED'),
    });
    const aggregate = Object.assign(new Error('many'), {
      errors: [new Error('other'), refused('GROUP_AUTHORIZATION_FAILED')],
    });
    expect(refusedResource(wrapped)).toBe('TOPIC');
    expect(refusedResource(aggregate)).toBe('GROUP');
    expect(refusedResource(refused('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'))).toBe(
      'TRANSACTIONAL_ID',
    );
    expect(refusedResource(refused('CLUSTER_AUTHORIZATION_FAILED'))).toBe('CLUSTER');
    expect(refusedResource(refused('NOT_LEADER_FOR_PARTITION'))).toBeUndefined();
    expect(refusedResource(new Error('Not authorized to access topics'))).toBeUndefined();
  });

  it('become SLUICE_NOT_AUTHORIZED naming the operation and resource the call needed; others pass through', async () => {
    const needs = { TOPIC: ['WRITE', ['ns.control']], GROUP: ['READ', 'g'] } as const;
    const err = asNotAuthorized(refused('TOPIC_AUTHORIZATION_FAILED'), needs);
    expect(err).toBeInstanceOf(NotAuthorizedError);
    expect(err).toMatchObject({
      code: 'SLUICE_NOT_AUTHORIZED',
      retryable: false,
      details: { operation: 'WRITE', resourceType: 'TOPIC', resource: 'ns.control' },
    });
    expect((err as Error).message).toContain('Kafka refused WRITE on TOPIC ns.control');
    const other = refused('UNKNOWN_TOPIC_OR_PARTITION');
    expect(asNotAuthorized(other, needs)).toBe(other);
    await expect(
      authorized(needs, () => Promise.reject(refused('GROUP_AUTHORIZATION_FAILED'))),
    ).rejects.toMatchObject({
      details: { operation: 'READ', resourceType: 'GROUP', resource: 'g' },
    });
    await expect(authorized(needs, () => Promise.resolve(7))).resolves.toBe(7);
  });
});
