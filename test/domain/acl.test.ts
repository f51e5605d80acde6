import { describe, expect, it } from 'vitest';
import { aclBindings, ACL_ROLES, formatAclTable, type AclRole } from '../../src/domain/acl.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { topicNames } from '../../src/domain/resources.js';

// The ACL table of each role (src/domain/acl.ts): what each may write is what the threat model
// in docs/security.md says, and nothing is granted twice. The bindings' sufficiency is tested
// against a real authorizer (test/security/acl.int.test.ts).

const T = topicNames('ns');
const of = (role: AclRole) =>
  aclBindings({ role, principal: 'User:u', namespace: 'ns', dataPrefixes: ['app.'] });
const writes = (role: AclRole) =>
  of(role)
    .filter((b) => b.resourceType === 'TOPIC' && b.operation === 'WRITE')
    .map((b) => `${b.pattern}:${b.resourceName}`);

describe('the ACL bindings of each role', () => {
  it('let only operators write commands, and only workers and the coordinator write reports', () => {
    expect(writes('operator')).toContain(`LITERAL:${T.control}`);
    expect(writes('operator')).not.toContain(`LITERAL:${T.reports}`);
    expect(writes('worker')).toContain(`LITERAL:${T.reports}`);
    expect(writes('worker')).not.toContain(`LITERAL:${T.control}`);
    expect(writes('coordinator')).toContain(`LITERAL:${T.reports}`);
    expect(writes('coordinator')).not.toContain(`LITERAL:${T.control}`);
  });

  it('let only the coordinator write the job log and the checkpoint, under its transactional id', () => {
    for (const role of ACL_ROLES) {
      const log = writes(role).filter(
        (w) => w === `LITERAL:${T.jobs}` || w === `LITERAL:${T.checkpoint}`,
      );
      expect(log, role).toEqual(
        role === 'coordinator' ? [`LITERAL:${T.jobs}`, `LITERAL:${T.checkpoint}`] : [],
      );
    }
    expect(of('coordinator')).toContainEqual(
      expect.objectContaining({
        resourceType: 'TRANSACTIONAL_ID',
        pattern: 'LITERAL',
        resourceName: 'ns.coordinator',
      }),
    );
  });

  it('give the auditor reads only, the producer only the application topics, and no role a cluster operation', () => {
    expect(of('auditor').map((b) => b.operation)).not.toEqual(expect.arrayContaining(['WRITE']));
    expect(new Set(of('auditor').map((b) => b.operation))).toEqual(
      new Set(['DESCRIBE', 'DESCRIBE_CONFIGS', 'READ']),
    );
    expect(of('producer').map((b) => `${b.pattern}:${b.resourceName}:${b.operation}`)).toEqual([
      'PREFIXED:app.:WRITE',
      'PREFIXED:app.:DESCRIBE',
    ]);
    for (const role of ACL_ROLES)
      expect(
        of(role).filter((b) => b.resourceType === 'CLUSTER'),
        role,
      ).toEqual([]);
  });

  it('grant nothing twice, to the principal given, and no topic outside the namespace and the data prefixes', () => {
    for (const role of ACL_ROLES) {
      const bindings = of(role);
      const keys = bindings.map((b) => JSON.stringify(b));
      expect(new Set(keys).size, role).toBe(keys.length);
      expect(new Set(bindings.map((b) => b.principal))).toEqual(
        new Set(role === 'producer' && bindings.length === 0 ? [] : ['User:u']),
      );
      for (const b of bindings.filter((x) => x.resourceType === 'TOPIC'))
        expect(
          b.resourceName.startsWith('ns.') || b.resourceName === 'app.',
          `${role} ${b.resourceName}`,
        ).toBe(true);
    }
  });

  it('refuse a principal that is not User:<name>, as a usage error', () => {
    for (const principal of ['alice', 'User:', 'User:a b', ''])
      expect(() => aclBindings({ role: 'worker', principal, namespace: 'ns' })).toThrow(
        expect.objectContaining({ code: 'SLUICE_USAGE' }) as Error,
      );
    let err: unknown;
    try {
      aclBindings({ role: 'worker', principal: 'x', namespace: 'bad.ns' });
    } catch (e) {
      err = e;
    }
    expect(isSluiceError(err)).toBe(true);
  });

  it('print as an aligned table, a line per binding', () => {
    const text = formatAclTable(of('producer'));
    expect(text.split('\n')).toEqual([
      'PRINCIPAL  RESOURCE  PATTERN   NAME  OPERATION',
      'User:u     TOPIC     PREFIXED  app.  WRITE',
      'User:u     TOPIC     PREFIXED  app.  DESCRIBE',
    ]);
  });
});
