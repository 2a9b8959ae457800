import { readFile } from 'node:fs/promises';
import { LockwardenError } from '../errors.js';
import { parsePolicy } from '../policy/parse-policy.js';
import type { Policy } from '../policy/types.js';

const MAX_POLICY_BYTES = 1024 * 1024;

export async function readPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_POLICY_BYTES) {
      throw new LockwardenError('EPOLICY', `${file}: policy file is ${buf.length} bytes; the limit is 1 MiB`);
    }
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof LockwardenError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new LockwardenError('EPOLICY', `${file}: cannot read policy file: ${why}`, { cause: err });
  }
  return parsePolicy(text, { file });
}
