import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from '../tls-certs.js';

/**
 * A broker whose client listener speaks only TLS (Kafka's `SSL` protocol), with certificates of a
 * private CA. For tests and local trials of secured connections; not a production setup.
 */
export interface BrokerTls {
  /**
   * `required` (the default): clients must present a certificate the private CA signed (mutual
   * TLS); `none`: any client that trusts the broker may connect.
   */
  clientAuth?: 'required' | 'none';
  /**
   * The CA and certificates to use; made in the broker's folder when absent, with a server
   * certificate naming 127.0.0.1 only (the address the broker advertises), so a client that
   * connects by another name, `localhost` say, is refused as a hostname mismatch.
   */
  certificates?: TestCertificates;
}

/** The certificates of a TLS broker, made in `dir`/tls unless given. */
export async function brokerCertificates(tls: BrokerTls, dir: string): Promise<TestCertificates> {
  return tls.certificates ?? (await makeTestCertificates(join(dir, 'tls'), ['127.0.0.1']));
}

/**
 * The SSL listener's settings. Kafka reads PEM directly (KIP-651): the keystore is the key and
 * the certificate chain in one file, the truststore the CA. The broker reaches itself through
 * this listener too (transaction markers), as a client presenting its own certificate, which
 * therefore allows client use; the KRaft controller listener stays PLAINTEXT.
 */
export function tlsListenerProperties(tls: BrokerTls, certs: TestCertificates): string[] {
  return [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${certs.serverKeystore}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.ca}`,
    `ssl.client.auth=${tls.clientAuth ?? 'required'}`,
    // Kafka's default, spelled out: the broker checks its own name when it connects to itself.
    'ssl.endpoint.identification.algorithm=https',
  ];
}
