// An audit entry as the proxy records it, numbered so tests can tell entries apart.
import type { NewAuditEntry } from '../../server/audit-log.js';

export function makeAuditEntry(i: number, overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    policy: 'strict',
    label: null,
    source: 'registry',
    package: `pkg-${i}`,
    version: '1.0.0',
    rule: 'cooling-off',
    outcome: 'blocked',
    reason: `pkg-${i}@1.0.0 was published 1 day ago`,
    userAgent: 'npm/11',
    ...overrides,
  };
}
