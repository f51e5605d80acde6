import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../domain/errors.js';

const run = promisify(execFile);

/** Files of a private CA and the certificates it signed, all PEM, for tests of TLS. */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate: what clients and servers are told to trust. */
  ca: string;
  caKey: string;
  /** The server's certificate (for the names given) and its key (PKCS#8, unencrypted). */
  serverCert: string;
  serverKey: string;
  /** Key, certificate and CA in one file: Kafka's `ssl.keystore.type=PEM`. */
  serverKeystore: string;
  /** A client certificate the same CA signed (CN=sluice-client), for mutual TLS. */
  clientCert: string;
  clientKey: string;
}

/** What the certificates say; openssl's own config file is not read, so no distro's defaults leak in. */
function opensslConfig(serverNames: string[]): string {
  const san = serverNames.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  return `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = ${san}
authorityKeyIdentifier = keyid,issuer
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid,issuer
`;
}

/**
 * Makes a private CA in `dir`, a server certificate naming `serverNames` (IP addresses become
 * IP entries, anything else DNS entries; nothing else is named, so a client connecting by another
 * name is refused) that also serves as a client certificate (a broker connects to itself), and a
 * client certificate; valid for 7 days. Uses `openssl` (SLUICE_OPENSSL, default `openssl`):
 * keytool cannot write a private key as PEM, which Node's TLS needs.
 */
export async function makeTestCertificates(
  dir: string,
  serverNames: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestCertificates> {
  if (serverNames.length === 0) {
    throw new SluiceError('SLUICE_USAGE', 'A test server certificate needs at least one name.');
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const openssl = env.SLUICE_OPENSSL ?? 'openssl';
  const f = (name: string): string => join(dir, name);
  const cnf = f('openssl.cnf');
  writeFileSync(cnf, opensslConfig(serverNames));
  const ssl = async (args: string[]): Promise<void> => {
    try {
      await run(openssl, args, { timeout: 60_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') {
        throw new SluiceError(
          'SLUICE_INFRA_NOT_FOUND',
          `Making test TLS certificates needs openssl, and "${openssl}" was not found. Install it (e.g. apt-get install openssl) or point SLUICE_OPENSSL at it.`,
        );
      }
      throw new SluiceError(
        'SLUICE_INFRA_START_FAILED',
        `openssl ${args[0]} failed while making test certificates in ${dir}: ${e.stderr ?? String(err)}`,
        { cause: err },
      );
    }
  };
  const key = (name: string) =>
    ssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(name)]);
  const serial = (): string => `0x${randomBytes(8).toString('hex')}`;
  const sign = async (name: string, cn: string, ext: string): Promise<void> => {
    await key(`${name}-key.pem`);
    const csr = f(`${name}.csr`);
    await ssl([
      'req',
      '-new',
      '-key',
      f(`${name}-key.pem`),
      '-subj',
      `/CN=${cn}`,
      '-config',
      cnf,
      '-out',
      csr,
    ]);
    await ssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca-key.pem'),
      '-set_serial',
      serial(),
      '-days',
      '7',
      '-extfile',
      cnf,
      '-extensions',
      ext,
      '-out',
      f(`${name}-cert.pem`),
    ]);
  };

  await key('ca-key.pem');
  await ssl([
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca-key.pem'),
    '-subj',
    `/CN=Sluice test CA ${randomBytes(4).toString('hex')}`,
    '-days',
    '7',
    '-config',
    cnf,
    '-extensions',
    'ca_ext',
    '-set_serial',
    serial(),
    '-out',
    f('ca.pem'),
  ]);
  await sign('server', serverNames[0] ?? 'server', 'server_ext');
  await sign('client', 'sluice-client', 'client_ext');
  const keystore = f('server-keystore.pem');
  writeFileSync(
    keystore,
    ['server-key.pem', 'server-cert.pem', 'ca.pem'].map((n) => readFileSync(f(n), 'utf8')).join(''),
    { mode: 0o600 },
  );
  return {
    dir,
    ca: f('ca.pem'),
    caKey: f('ca-key.pem'),
    serverCert: f('server-cert.pem'),
    serverKey: f('server-key.pem'),
    serverKeystore: keystore,
    clientCert: f('client-cert.pem'),
    clientKey: f('client-key.pem'),
  };
}
