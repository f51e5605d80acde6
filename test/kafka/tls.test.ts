import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/kafka/kafkajs/adapter.js';
import { probeBroker } from '../../src/infra/probe.js';

// TLS wiring without a TLS broker: a local TLS server with a self-signed certificate stands in
// for the broker's listener. A completed handshake proves Sluice's Kafka client used TLS and
// trusted the CA file it was given; a refused one proves certificates are checked by default.
// (It speaks no Kafka after the handshake, so the clients' requests then fail, as expected.)

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const CA = fixture('server-cert.pem');

const handshakes: TLSSocket[] = [];
const server = createServer(
  { key: readFileSync(fixture('server-key.pem')), cert: readFileSync(CA) },
  (socket) => {
    handshakes.push(socket);
    socket.destroy();
  },
);
let brokers: string[] = [];
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  brokers = [`127.0.0.1:${(server.address() as AddressInfo).port}`];
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return check();
}

describe('TLS to the brokers', () => {
  it("completes the handshake with the CA from the settings, through Sluice's Kafka client", async () => {
    handshakes.length = 0;
    const kafka = createKafka({
      brokers,
      clientId: 'tls-test',
      logger: pino({ level: 'silent' }),
      security: { ssl: { ca: CA } },
    });
    const admin = kafka.admin();
    // Not awaited: with no Kafka behind the handshake, connect() retries for a while; its
    // outcome is not the point, the handshake is.
    void admin.connect().catch(() => undefined);
    expect(await until(() => handshakes.length > 0, 10_000)).toBe(true);
    await admin.disconnect();
  });

  it('refuses the self-signed certificate when no CA is given', async () => {
    handshakes.length = 0;
    const err = await probeBroker(brokers, 3000, { ssl: true }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/self[- ]signed certificate/i);
    expect(handshakes).toHaveLength(0);
  });
});
