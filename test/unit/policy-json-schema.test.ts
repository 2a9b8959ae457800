import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policySchemaJson } from '../../src/policy/policy-json-schema.js';

describe('schema/policy.schema.json', () => {
  it('is generated from the zod schema (run: npm run build && node scripts/generate-schema.mjs)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../schema/policy.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(policySchemaJson());
  });

  it('describes every policy key', () => {
    const props = (policySchemaJson().properties ?? {}) as Record<string, unknown>;
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining([
        'id',
        'action',
        'coolingOffDays',
        'minWeeklyDownloads',
        'typosquatting',
        'suspiciousVersion',
        'allow',
        'block',
        'onUnavailable',
      ]),
    );
  });
});
