import { describe, expect, it } from 'vitest';
import { scramFormatArgs } from '../../../src/infra/java/kafka-sasl.js';
import { newClusterId, serverProperties } from '../../../src/infra/java/kafka.js';

function parse(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
}

describe('serverProperties', () => {
  const props = parse(serverProperties('/data/x', 19092, 19093));

  it('runs a combined KRaft node on loopback with the given ports', () => {
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(props.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19092');
    expect(props.get('log.dirs')).toBe('/data/x/data');
  });

  it('makes groups and transactions work on one node', () => {
    expect(props.get('offsets.topic.replication.factor')).toBe('1');
    expect(props.get('transaction.state.log.replication.factor')).toBe('1');
    expect(props.get('transaction.state.log.min.isr')).toBe('1');
    expect(props.get('group.initial.rebalance.delay.ms')).toBe('0');
  });

  it('lets a broker killed and restarted in place register again within seconds', () => {
    // The controller refuses the new incarnation until the old one's session has expired.
    const session = Number(props.get('broker.session.timeout.ms'));
    expect(session).toBeLessThanOrEqual(4000);
    expect(Number(props.get('broker.heartbeat.interval.ms'))).toBeLessThan(session / 2);
  });
});

describe('serverProperties with SASL', () => {
  const security = { sasl: { username: 'admin', password: 's3cret-pw' } };
  const props = parse(serverProperties('/data/x', 19092, 19093, security));

  it('puts clients and the broker itself on a SASL_PLAINTEXT listener, the controller on PLAINTEXT', () => {
    expect(props.get('listeners')).toBe(
      'SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
    );
    expect(props.get('advertised.listeners')).toBe('SASL_PLAINTEXT://127.0.0.1:19092');
    expect(props.get('inter.broker.listener.name')).toBe('SASL_PLAINTEXT');
    expect(props.get('listener.security.protocol.map')).toBe(
      'SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    );
    expect(props.get('sasl.mechanism.inter.broker.protocol')).toBe('SCRAM-SHA-512');
  });

  it('enables both SCRAM mechanisms and PLAIN, each with a JAAS login for the broker', () => {
    expect(props.get('sasl.enabled.mechanisms')).toBe('SCRAM-SHA-256,SCRAM-SHA-512,PLAIN');
    for (const m of ['scram-sha-256', 'scram-sha-512']) {
      expect(props.get(`listener.name.sasl_plaintext.${m}.sasl.jaas.config`)).toBe(
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="s3cret-pw";',
      );
    }
    expect(props.get('listener.name.sasl_plaintext.plain.sasl.jaas.config')).toContain(
      'user_admin="s3cret-pw"',
    );
  });

  it('creates the SCRAM credentials at format time, for both mechanisms', () => {
    expect(scramFormatArgs(security)).toEqual([
      '--add-scram',
      'SCRAM-SHA-256=[name=admin,password=s3cret-pw]',
      '--add-scram',
      'SCRAM-SHA-512=[name=admin,password=s3cret-pw]',
    ]);
  });

  it('refuses credentials that would need quoting in JAAS or the storage tool', () => {
    for (const bad of ['a"b', 'a,b', 'a]b', '', 'a b']) {
      expect(() => scramFormatArgs({ sasl: { username: 'admin', password: bad } })).toThrow(
        /letters, digits/,
      );
    }
  });

  it('leaves the plain broker as it was', () => {
    const plain = parse(serverProperties('/data/x', 19092, 19093));
    expect(plain.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect([...plain.keys()].some((k) => k.includes('sasl'))).toBe(false);
  });

  it('adds the extra settings a private instance was asked for', () => {
    const props = parse(
      serverProperties('/data/x', 19092, 19093, undefined, {
        'transaction.partition.verification.enable': 'false',
      }),
    );
    expect(props.get('transaction.partition.verification.enable')).toBe('false');
    expect(props.get('node.id')).toBe('1');
  });
});

describe('newClusterId', () => {
  it('never starts with "-", which the storage tool would read as an option', () => {
    const draws = [
      Buffer.from([0xfb, ...Array<number>(15).fill(1)]),
      Buffer.from(Array<number>(16).fill(7)),
    ];
    const id = newClusterId(() => draws.shift() ?? Buffer.alloc(16));
    expect(Buffer.from([0xfb]).toString('base64url')).toMatch(/^-/); // the first draw would have been refused
    expect(id).toBe(Buffer.from(Array<number>(16).fill(7)).toString('base64url'));
    expect(id).toHaveLength(22);
  });
});
