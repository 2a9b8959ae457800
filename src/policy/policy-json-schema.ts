import { z } from 'zod';
import { policyFileSchema } from './parse-policy.js';

/** The JSON Schema editors use for completion (schema/policy.schema.json). */
export function policySchemaJson(): Record<string, unknown> {
  const schema = z.toJSONSchema(policyFileSchema, { io: 'input' }) as Record<string, unknown>;
  return { ...schema, title: 'lockwarden policy' };
}
