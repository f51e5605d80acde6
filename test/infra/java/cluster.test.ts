import { describe, expect, it } from 'vitest';
import { clusterNodes, clusterReplication } from '../../../src/infra/java/cluster.js';
import { nodeProperties } from '../../../src/infra/java/kafka.js';

function parse(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
}

describe('clusterNodes', () => {
  it('gives each node its own id and two ports of its own, and every node the same voters', async () => {
    const nodes = await clusterNodes(3);
    expect(nodes.map((n) => n.nodeId)).toEqual([1, 2, 3]);
    const ports = nodes.flatMap((n) => [n.brokerPort, n.controllerPort]);
    expect(new Set(ports).size).toBe(6);
    expect(ports.every((p) => p > 0)).toBe(true);
    const voters = nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
    for (const n of nodes) expect(n.voters).toBe(voters);
  });
});

describe('clusterReplication', () => {
  it('is three replicas, two in sync, on three brokers or more; fewer on fewer', () => {
    expect(clusterReplication(3)).toEqual({ factor: 3, minIsr: 2 });
    expect(clusterReplication(5)).toEqual({ factor: 3, minIsr: 2 });
    expect(clusterReplication(2)).toEqual({ factor: 2, minIsr: 1 });
    expect(clusterReplication(1)).toEqual({ factor: 1, minIsr: 1 });
  });
});

describe('a cluster node’s properties', () => {
  const node = {
    nodeId: 2,
    brokerPort: 19192,
    controllerPort: 19193,
    voters: '1@127.0.0.1:19093,2@127.0.0.1:19193,3@127.0.0.1:19293',
  };
  const props = parse(nodeProperties('/data/kafka-2', node, clusterReplication(3)));

  it('votes in the quorum of all three under its own id, on its own ports and folder', () => {
    expect(props.get('node.id')).toBe('2');
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('controller.quorum.voters')).toBe(node.voters);
    expect(props.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193');
    expect(props.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19192');
    expect(props.get('log.dirs')).toBe('/data/kafka-2/data');
  });

  it('replicates every topic three times and needs two in sync, internal topics included', () => {
    expect(props.get('default.replication.factor')).toBe('3');
    expect(props.get('min.insync.replicas')).toBe('2');
    expect(props.get('offsets.topic.replication.factor')).toBe('3');
    expect(props.get('transaction.state.log.replication.factor')).toBe('3');
    expect(props.get('transaction.state.log.min.isr')).toBe('2');
    expect(props.get('share.coordinator.state.topic.replication.factor')).toBe('3');
    expect(props.get('share.coordinator.state.topic.min.isr')).toBe('2');
  });

  it('notices a killed broker within seconds, so its partitions get new leaders soon', () => {
    expect(Number(props.get('broker.session.timeout.ms'))).toBeLessThanOrEqual(4000);
  });
});
