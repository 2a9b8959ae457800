// Writes schema/policy.schema.json from the zod schema in src/policy/parse-policy.ts (the one source
// of truth). A unit test fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { policySchemaJson } from '../lib/src/policy/policy-json-schema.js';

writeFileSync(
  new URL('../schema/policy.schema.json', import.meta.url),
  `${JSON.stringify(policySchemaJson(), null, 2)}\n`,
);
