import type { AclEntry, Admin as KafkaJSAdmin } from 'kafkajs';
import type { AclBinding, AclOperation, AclPattern, AclResourceType } from '../../domain/acl.js';
import kafkajs from './loader.js';

/** Sluice's binding names to kafkajs's protocol enums, and back. */
const RESOURCE: Record<AclResourceType, number> = {
  TOPIC: kafkajs.AclResourceTypes.TOPIC,
  GROUP: kafkajs.AclResourceTypes.GROUP,
  CLUSTER: kafkajs.AclResourceTypes.CLUSTER,
  TRANSACTIONAL_ID: kafkajs.AclResourceTypes.TRANSACTIONAL_ID,
};
const PATTERN: Record<AclPattern, number> = {
  LITERAL: kafkajs.ResourcePatternTypes.LITERAL,
  PREFIXED: kafkajs.ResourcePatternTypes.PREFIXED,
};
const OPERATION: Record<AclOperation, number> = {
  READ: kafkajs.AclOperationTypes.READ,
  WRITE: kafkajs.AclOperationTypes.WRITE,
  CREATE: kafkajs.AclOperationTypes.CREATE,
  DELETE: kafkajs.AclOperationTypes.DELETE,
  DESCRIBE: kafkajs.AclOperationTypes.DESCRIBE,
  DESCRIBE_CONFIGS: kafkajs.AclOperationTypes.DESCRIBE_CONFIGS,
  ALTER: kafkajs.AclOperationTypes.ALTER,
  IDEMPOTENT_WRITE: kafkajs.AclOperationTypes.IDEMPOTENT_WRITE,
};

function reverse<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}
const RESOURCE_NAMES = reverse(RESOURCE);
const PATTERN_NAMES = reverse(PATTERN);
const OPERATION_NAMES = reverse(OPERATION);

/** Creates ALLOW bindings from any host; Kafka ignores one that exists already. */
export async function createAcls(admin: KafkaJSAdmin, bindings: AclBinding[]): Promise<void> {
  if (bindings.length === 0) return;
  const acl = bindings.map((b): AclEntry => ({
    principal: b.principal,
    host: '*',
    resourceType: RESOURCE[b.resourceType],
    resourceName: b.resourceName,
    resourcePatternType: PATTERN[b.pattern],
    operation: OPERATION[b.operation],
    permissionType: kafkajs.AclPermissionTypes.ALLOW,
  }));
  await admin.createAcls({ acl });
}

/**
 * A principal's ALLOW bindings from any host. Bindings Sluice has no name for (DENY, a host,
 * another operation) are left out: they are not Sluice's to report.
 */
export async function describeAcls(admin: KafkaJSAdmin, principal: string): Promise<AclBinding[]> {
  const answer = await admin.describeAcls({
    resourceType: kafkajs.AclResourceTypes.ANY,
    resourcePatternType: kafkajs.ResourcePatternTypes.ANY,
    principal,
    host: '*',
    operation: kafkajs.AclOperationTypes.ANY,
    permissionType: kafkajs.AclPermissionTypes.ALLOW,
  });
  const out: AclBinding[] = [];
  for (const r of answer.resources) {
    const resourceType = RESOURCE_NAMES.get(r.resourceType);
    const pattern = PATTERN_NAMES.get(r.resourcePatternType);
    if (!resourceType || !pattern) continue;
    for (const a of r.acls) {
      const operation = OPERATION_NAMES.get(a.operation);
      if (operation && a.principal === principal)
        out.push({ principal, resourceType, resourceName: r.resourceName, pattern, operation });
    }
  }
  return out;
}
