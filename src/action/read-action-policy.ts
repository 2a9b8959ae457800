// The policy an inline run applies. On a pull request it is the base branch's policy file: read
// from the head commit, a pull request could loosen the policy (`allow: ["*"]`, `action: alert`)
// in the same change that adds the dependency the looser policy lets through.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_POLICY_FILES } from '../engine/find-policy-file.js';
import { readPolicyFile } from '../engine/read-policy-file.js';
import { isLockwardenError, LockwardenError } from '../errors.js';
import { DEFAULT_POLICY, parsePolicy } from '../policy/parse-policy.js';
import type { Policy } from '../policy/types.js';
import type { BaseFile } from './read-base-file.js';
import { assertInsideRepository, joinRepoPath } from './repository-path.js';

export interface PolicyNotice {
  level: 'warning';
  /** Repository-relative policy file the notice is about. */
  file: string;
  message: string;
}

export interface ActionPolicy {
  policy: Policy;
  /** Repository-relative file the policy came from; absent for the built-in default. */
  file?: string;
  /** Which commit's file applied. */
  from: 'base' | 'head' | 'default';
  /** Set when the pull request adds, changes or removes the policy file. */
  notice?: PolicyNotice;
}

export interface ReadActionPolicyOptions {
  workspace: string;
  /** Repository-relative path from the `policy` input. */
  policyFile?: string;
  /** Repository-relative directory searched for `lockwarden.policy.*` when `policyFile` is unset. */
  workingDirectory: string;
  /**
   * Reads a repository-relative file at the base commit. Set on pull requests (and merge groups):
   * then the base commit's policy applies.
   */
  readBase?: (file: string) => Promise<BaseFile>;
  /** Short name of the base commit for messages (`main@1a2b3c4d5e6f`). */
  baseLabel?: string;
  log?: (message: string) => void;
}

const MAX_POLICY_BYTES = 1024 * 1024;

/** The head commit's text of a repository-relative file, or undefined when it does not exist. */
async function readHeadText(workspace: string, file: string): Promise<string | undefined> {
  await assertInsideRepository(workspace, file);
  try {
    return await readFile(path.resolve(workspace, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new LockwardenError('EPOLICY', `${file}: cannot read policy file: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function readHeadPolicy(opts: ReadActionPolicyOptions): Promise<ActionPolicy> {
  if (opts.policyFile) {
    await assertInsideRepository(opts.workspace, opts.policyFile);
    return {
      policy: await readPolicyFile(path.resolve(opts.workspace, opts.policyFile)),
      file: opts.policyFile,
      from: 'head',
    };
  }
  for (const name of DEFAULT_POLICY_FILES) {
    const file = joinRepoPath(opts.workingDirectory, name);
    if ((await readHeadText(opts.workspace, file)) === undefined) continue;
    opts.log?.(`policy: ${file}`);
    return { policy: await readPolicyFile(path.resolve(opts.workspace, file)), file, from: 'head' };
  }
  opts.log?.('policy: none given or found; using the built-in default policy');
  return { policy: DEFAULT_POLICY, from: 'default' };
}

export async function readActionPolicy(opts: ReadActionPolicyOptions): Promise<ActionPolicy> {
  if (!opts.readBase) return readHeadPolicy(opts);

  const candidates = opts.policyFile
    ? [opts.policyFile]
    : DEFAULT_POLICY_FILES.map((name) => joinRepoPath(opts.workingDirectory, name));
  const at = opts.baseLabel ? `the base commit ${opts.baseLabel}` : 'the base commit';

  let base: { file: string; text: string } | undefined;
  for (const file of candidates) {
    const found = await opts.readBase(file);
    if (found.found) {
      base = { file, text: found.text };
      opts.log?.(`policy: ${file} at ${at} (read via ${found.via})`);
      break;
    }
  }
  let head: { file: string; text: string } | undefined;
  for (const file of candidates) {
    const text = await readHeadText(opts.workspace, file);
    if (text !== undefined) {
      head = { file, text };
      break;
    }
  }

  if (!base) {
    const applied = await readHeadPolicy(opts);
    if (!head) return applied;
    return {
      ...applied,
      notice: {
        level: 'warning',
        file: head.file,
        message: `policy file ${head.file} is new in this pull request (${at} has none), so the pull request's own policy was applied; review it together with the dependency changes`,
      },
    };
  }

  let policy: Policy;
  try {
    if (Buffer.byteLength(base.text) > MAX_POLICY_BYTES) {
      throw new LockwardenError('EPOLICY', `${base.file} at ${at}: policy file is over the 1 MiB limit`);
    }
    // `<commit>:<path>` as git writes it; the name must keep its extension, which picks the parser.
    policy = parsePolicy(base.text, { file: `${opts.baseLabel ?? 'base'}:${base.file}` });
  } catch (err) {
    if (!isLockwardenError(err)) throw err;
    // A broken policy on the base branch must not stop the pull request that repairs it: the
    // head's policy applies, and the run says so on the policy file.
    const applied = await readHeadPolicy(opts);
    return {
      ...applied,
      notice: {
        level: 'warning',
        file: head?.file ?? base.file,
        message: `the base branch's policy is invalid (${err.message}); the pull request's policy was applied instead`,
      },
    };
  }

  const result: ActionPolicy = { policy, file: base.file, from: 'base' };
  if (!head || head.file !== base.file || head.text !== base.text) {
    const what = !head
      ? `policy file ${base.file} is removed in this pull request`
      : head.file !== base.file
        ? `the policy file changed in this pull request (${base.file} → ${head.file})`
        : `policy file ${base.file} changed in this pull request`;
    let invalid = '';
    if (head) {
      try {
        parsePolicy(head.text, { file: head.file });
      } catch (err) {
        if (!isLockwardenError(err)) throw err;
        // Said now: after merge, every run would stop on it.
        invalid = `; the new policy is invalid: ${err.message}`;
      }
    }
    result.notice = {
      level: 'warning',
      file: head?.file ?? base.file,
      message: `${what}; the base branch's policy was applied; the new policy takes effect after merge${invalid}`,
    };
  }
  return result;
}
