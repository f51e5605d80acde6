import { describe, expect, it } from 'vitest';
import {
  KAFKA_TLS_HINTS,
  REGISTRY_TLS_HINTS,
  tlsFailureMessage,
  tlsFailureOf,
} from '../../src/domain/tls-failure.js';

/** An error as Node's TLS gives it: a message and an OpenSSL-derived code. */
function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('tlsFailureOf', () => {
  it("finds the code where each client puts it: Node's, kafkajs's wrappers, a cause", () => {
    const unknownCa = nodeError(
      'SELF_SIGNED_CERT_IN_CHAIN',
      'self-signed certificate in certificate chain',
    );
    expect(tlsFailureOf(unknownCa)?.problem).toBe('untrusted-certificate');
    // kafkajs: a KafkaJSConnectionError with the code copied, inside a retries-exceeded wrapper.
    const kafkajs = Object.assign(new Error('Connection error: alert certificate required'), {
      name: 'KafkaJSConnectionError',
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    });
    const wrapped = Object.assign(new Error('retries'), { originalError: kafkajs });
    expect(tlsFailureOf(wrapped)).toEqual({
      problem: 'client-certificate-refused',
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      reason: 'alert certificate required',
    });
    const fetchLike = new Error('fetch failed', {
      cause: nodeError(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames",
      ),
    });
    expect(tlsFailureOf(fetchLike)?.problem).toBe('hostname-mismatch');
  });

  it('leaves errors that are not about TLS alone', () => {
    expect(tlsFailureOf(nodeError('ECONNREFUSED', 'connect ECONNREFUSED'))).toBeUndefined();
    expect(tlsFailureOf('text')).toBeUndefined();
    expect(tlsFailureOf(null)).toBeUndefined();
  });
});

describe('tlsFailureMessage', () => {
  it('says what was wrong and which setting fixes it, per server', () => {
    const untrusted = { problem: 'untrusted-certificate', code: 'X', reason: 'r' } as const;
    expect(tlsFailureMessage('Kafka at h:1', untrusted, KAFKA_TLS_HINTS)).toContain(
      '--tls-ca <file>',
    );
    expect(tlsFailureMessage('The registry', untrusted, REGISTRY_TLS_HINTS)).toContain(
      '--registry-ca <file>',
    );
    const refused = { problem: 'client-certificate-refused', code: 'X', reason: 'r' } as const;
    expect(tlsFailureMessage('Kafka at h:1', refused, KAFKA_TLS_HINTS)).toContain(
      '--tls-cert and --tls-key',
    );
  });
});
