import { describe, expect, it } from 'vitest';
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
