import { existsSync } from 'node:fs';
import path from 'node:path';

/** Policy files picked up from a project directory when none is named (CLI and Action alike). */
export const DEFAULT_POLICY_FILES = [
  'lockwarden.policy.json',
  'lockwarden.policy.yaml',
  'lockwarden.policy.yml',
];

/** The first default policy file present in `dir`, or undefined. */
export function findPolicyFile(dir: string): string | undefined {
  for (const name of DEFAULT_POLICY_FILES) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}
