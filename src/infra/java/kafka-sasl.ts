import { SluiceError } from '../../domain/errors.js';
import type { BrokerTls } from './kafka-tls.js';

/**
 * A broker whose client listener requires SASL: SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN, all
 * with this one user (who is also the broker's own inter-broker identity). For tests and local
 * trials of secured connections; not a production setup.
 */
export interface BrokerSasl {
  sasl: { username: string; password: string };
  /**
   * More SCRAM users (SHA-256 and SHA-512), e.g. one per Sluice role; with {@link authorizer},
   * they may do only what ACLs allow them.
   */
  users?: { username: string; password: string }[];
  /**
   * Run KRaft's `StandardAuthorizer`: nothing is allowed without an ACL
   * (`allow.everyone.if.no.acl.found=false`), except to super users: `sasl.username` (the
   * setup user, also the broker's own inter-broker identity) and `User:ANONYMOUS`, the
   * principal of the PLAINTEXT controller listener, through which the broker registers and
   * fetches metadata from the controller. That listener is bound to 127.0.0.1 and advertised
   * to no client; a test setup, not a production one.
   */
  authorizer?: boolean;
}

/** A broker whose client listener requires SASL ({@link BrokerSasl}) or TLS ({@link BrokerTls}). */
export type BrokerSecurity = BrokerSasl | { tls: BrokerTls };

/** The SCRAM mechanisms whose credentials {@link scramFormatArgs} creates. */
const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

/**
 * The SASL listener. The broker reaches itself through it too (the transaction coordinator sends
 * its markers to partition leaders, itself included), so it logs in with SCRAM-SHA-512 as the
 * same user; the KRaft controller listener stays PLAINTEXT, because SCRAM credentials live in
 * the metadata log the controller serves. Without {@link BrokerSasl.authorizer}, any
 * authenticated user may do anything.
 */
export function saslListenerProperties(security: BrokerSasl): string[] {
  const { username, password } = checkedCredentials(security);
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${username}" password="${password}";`;
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="${username}" password="${password}" user_${username}="${password}";`;
  for (const user of security.users ?? []) checkedCredentials({ sasl: user });
  return [
    ...(security.authorizer
      ? [
          'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          `super.users=User:${username};User:ANONYMOUS`,
          'allow.everyone.if.no.acl.found=false',
        ]
      : []),
    `sasl.enabled.mechanisms=${SCRAM_MECHANISMS.join(',')},PLAIN`,
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${scram}`,
    `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${scram}`,
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=${plain}`,
  ];
}

/**
 * KRaft keeps SCRAM credentials in the metadata log, so they must exist before the broker first
 * starts (it authenticates to itself with them): the storage tool writes them at format time.
 */
export function scramFormatArgs(security: BrokerSasl): string[] {
  const users = [security.sasl, ...(security.users ?? [])].map((sasl) =>
    checkedCredentials({ sasl }),
  );
  return users.flatMap(({ username, password }) =>
    SCRAM_MECHANISMS.flatMap((m) => [
      '--add-scram',
      `${m}=[name=${username},password=${password}]`,
    ]),
  );
}

/**
 * The credentials end up inside JAAS strings and the storage tool's `[name=..,password=..]`
 * syntax, neither of which has a quoting rule worth trusting; a plain alphabet avoids both.
 */
function checkedCredentials(security: Pick<BrokerSasl, 'sasl'>): {
  username: string;
  password: string;
} {
  const safe = /^[A-Za-z0-9._~-]{1,100}$/;
  const { username, password } = security.sasl;
  if (!safe.test(username) || !safe.test(password)) {
    throw new SluiceError(
      'SLUICE_USAGE',
      'A local SASL broker needs a username and password of 1-100 letters, digits, ".", "_", "~" or "-".',
    );
  }
  return { username, password };
}
