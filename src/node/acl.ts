import type { AclBinding } from '../domain/acl.js';
import type { ConnectionSecurity } from '../domain/security.js';
import { createKafka } from '../kafka/kafkajs/adapter.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Logger } from '../observability/logger.js';

/** What `sluice acl apply` did: the bindings it created, those already there, and others the principal holds. */
export interface AclApplied {
  created: AclBinding[];
  existing: AclBinding[];
  /** The principal's bindings the role does not need: left alone, but reported. */
  extra: AclBinding[];
}

const key = (b: AclBinding): string =>
  [b.principal, b.resourceType, b.pattern, b.resourceName, b.operation].join('\u0000');

/**
 * Creates the bindings a role needs (domain/acl.ts) through the admin API, as a principal
 * allowed to (ALTER on the cluster). Idempotent: what exists is left as it is, and a second run
 * creates nothing. Nothing is deleted; bindings beyond the role's are reported as `extra`.
 */
export async function applyAcls(
  o: { brokers: string[]; security?: ConnectionSecurity | undefined; logger: Logger },
  bindings: AclBinding[],
): Promise<AclApplied> {
  const kafka = createKafka({
    brokers: o.brokers,
    clientId: 'sluice-acl',
    logger: o.logger,
    security: o.security,
  });
  return withAdmin(kafka, async (admin) => {
    const principals = [...new Set(bindings.map((b) => b.principal))];
    const held = new Map<string, AclBinding>();
    for (const p of principals) for (const b of await admin.describeAcls(p)) held.set(key(b), b);
    const wanted = new Set(bindings.map(key));
    const created = bindings.filter((b) => !held.has(key(b)));
    await admin.createAcls(created);
    return {
      created,
      existing: bindings.filter((b) => held.has(key(b))),
      extra: [...held.values()].filter((b) => !wanted.has(key(b))),
    };
  });
}
