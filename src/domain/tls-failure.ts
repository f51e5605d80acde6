/**
 * Why a TLS handshake failed, told from the error code Node (OpenSSL) gives it, so that a
 * refused certificate is reported at once with what to fix rather than retried as a network
 * fault. Every client puts the code somewhere: Node's own errors as `code`, kafkajs's connection
 * errors copy it into theirs, fetch-style wrappers hold it in `cause`.
 */

/** What went wrong, in the terms a user fixes it by. */
export type TlsProblem =
  /** The server's certificate is not signed by a CA this client trusts. */
  | 'untrusted-certificate'
  /** The certificate does not name the host or address the client connected to. */
  | 'hostname-mismatch'
  /** The certificate is expired or not valid yet. */
  | 'certificate-expired'
  /** The server wants a client certificate (mutual TLS) and got none, or refused the one sent. */
  | 'client-certificate-refused'
  /** Nothing that speaks TLS answered: a plaintext port, say. */
  | 'not-tls';

const BY_CODE: Record<string, TlsProblem> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-certificate',
  CERT_SIGNATURE_FAILURE: 'untrusted-certificate',
  CERT_UNTRUSTED: 'untrusted-certificate',
  INVALID_CA: 'untrusted-certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname-mismatch',
  CERT_HAS_EXPIRED: 'certificate-expired',
  CERT_NOT_YET_VALID: 'certificate-expired',
  // The server's alerts: TLS 1.3 says "certificate required" when none came; an untrusted or
  // unusable one gets "unknown CA", "bad certificate" or "certificate unknown".
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client-certificate-refused',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client-certificate-refused',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client-certificate-refused',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client-certificate-refused',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not-tls',
};

/** A failed handshake: the problem, the code it was told by, and the TLS stack's own words. */
export interface TlsFailure {
  problem: TlsProblem;
  code: string;
  reason: string;
}

/** The TLS failure `err` reports, looking through `cause` and `originalError`; else undefined. */
export function tlsFailureOf(err: unknown): TlsFailure | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && typeof e === 'object' && e !== null; depth++) {
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    const problem = typeof x.code === 'string' ? BY_CODE[x.code] : undefined;
    if (problem !== undefined) {
      const message = typeof x.message === 'string' ? x.message : String(x.code);
      return {
        problem,
        code: x.code as string,
        reason: message.replace(/^Connection error: /, ''),
      };
    }
    e = x.originalError ?? x.cause;
  }
  return undefined;
}

/** How a user points a client at what it needs: flags and variables, per server kind. */
export interface TlsHints {
  /** Where the CA goes: "--tls-ca <file> (SLUICE_TLS_CA)". */
  ca: string;
  /** Where a client certificate goes; absent where the client has none to give. */
  clientCertificate?: string;
}

/** The broker's and the registry's settings, for {@link tlsFailureMessage}. */
export const KAFKA_TLS_HINTS: TlsHints = {
  ca: '--tls-ca <file> (SLUICE_TLS_CA, ssl.ca in the config file)',
  clientCertificate:
    '--tls-cert and --tls-key (SLUICE_TLS_CERT and SLUICE_TLS_KEY, ssl.cert and ssl.key)',
};
export const REGISTRY_TLS_HINTS: TlsHints = {
  ca: '--registry-ca <file> (SLUICE_REGISTRY_CA, registryCa in the config file)',
};

/**
 * "Kafka at 127.0.0.1:9093 refused the TLS connection: ...". `server` names the server as the
 * user gave it; the sentence says what was wrong and what to do.
 */
export function tlsFailureMessage(server: string, f: TlsFailure, hints: TlsHints): string {
  const why = `(${f.code}: ${f.reason})`;
  switch (f.problem) {
    case 'untrusted-certificate':
      return `${server}: its TLS certificate is not signed by a CA this client trusts ${why}. Give the CA certificate that signed it with ${hints.ca}.`;
    case 'hostname-mismatch':
      return `${server}: its TLS certificate does not name the host or address connected to ${why}. Connect by a name or address the certificate lists, or have the certificate reissued to include this one.`;
    case 'certificate-expired':
      return `${server}: its TLS certificate is expired or not yet valid ${why}. Renew the server's certificate, or check this machine's clock.`;
    case 'client-certificate-refused':
      return `${server}: the server requires a client certificate it trusts (mutual TLS) and refused this connection ${why}. ${hints.clientCertificate ? `Give a certificate signed by a CA the server trusts, and its key, with ${hints.clientCertificate}.` : 'This client cannot present one.'}`;
    case 'not-tls':
      return `${server}: it does not speak TLS on this port ${why}. Check the port, or turn TLS off for it.`;
  }
}
