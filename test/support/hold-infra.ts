// Starts an owned local infrastructure, prints its endpoints as one JSON line, and waits to be
// killed. Tests kill it with SIGKILL to prove nothing survives a test run killed midway.
import { resolveInfra } from '../../src/infra/index.js';

const infra = await resolveInfra({ mode: 'owned' });
process.stdout.write(
  `${JSON.stringify({ brokers: infra.brokers, registryUrl: infra.registryUrl, source: infra.source })}\n`,
);
setInterval(() => undefined, 60_000);
