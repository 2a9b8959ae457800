// Which policy the Action applies on a pull request: the base commit's, read from real git
// repositories whose head commit adds, changes or removes the policy file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readActionPolicy } from '../../src/action/read-action-policy.js';
import { readBaseFile } from '../../src/action/read-base-file.js';
import { makeActionRepo } from '../helpers/make-action-repo.js';

const STRICT = 'id: strict\naction: block\ncoolingOffDays: 7\n';
const LOOSE = 'id: strict\naction: block\ncoolingOffDays: 7\nallow: ["*"]\n';
const ALERT = '{"id": "strict", "action": "alert"}\n';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-policy-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

let repoCount = 0;
function repoWith(opts: {
  base: Record<string, string>;
  head: Record<string, string>;
  removeAtHead?: string[];
}) {
  const repo = makeActionRepo({
    dir: path.join(work, `repo-${repoCount++}`),
    base: { deps: [] },
    head: { deps: [] },
    files: opts.base,
    // A marker file so the head commit is never empty.
    headFiles: { 'HEAD.md': 'head\n', ...opts.head },
  });
  for (const file of opts.removeAtHead ?? []) rmSync(path.join(repo.dir, file));
  return repo;
}

function read(
  repo: { dir: string; baseSha: string },
  opts: { policyFile?: string; workingDirectory?: string; atBase?: boolean } = {},
) {
  return readActionPolicy({
    workspace: repo.dir,
    workingDirectory: opts.workingDirectory ?? '.',
    ...(opts.policyFile ? { policyFile: opts.policyFile } : {}),
    ...(opts.atBase === false
      ? {}
      : {
          readBase: (file: string) => readBaseFile({ workspace: repo.dir, sha: repo.baseSha, path: file }),
          baseLabel: repo.baseSha.slice(0, 12),
        }),
  });
}

interface PolicyCase {
  what: string;
  base: Record<string, string>;
  head: Record<string, string>;
  policyFile?: string;
  workingDirectory?: string;
  expected: { from: string; allow: number; action: string; file: string | undefined };
  notice: RegExp | undefined;
}

describe('readActionPolicy on a pull request', () => {
  it.each<PolicyCase>([
    {
      what: 'the named policy loosened with allow: ["*"]',
      base: { 'policy.yml': STRICT },
      head: { 'policy.yml': LOOSE },
      policyFile: 'policy.yml',
      expected: { from: 'base', allow: 0, action: 'block', file: 'policy.yml' },
      notice:
        /^policy file policy\.yml changed in this pull request; the base branch's policy was applied; the new policy takes effect after merge$/,
    },
    {
      what: 'the discovered lockwarden.policy.yml switched to alert as JSON',
      base: { 'lockwarden.policy.yml': STRICT },
      head: { 'lockwarden.policy.json': ALERT },
      expected: { from: 'base', allow: 0, action: 'block', file: 'lockwarden.policy.yml' },
      notice:
        /^the policy file changed in this pull request \(lockwarden\.policy\.yml → lockwarden\.policy\.json\); the base branch's policy was applied/,
    },
    {
      what: 'a discovered policy in the working directory, unchanged',
      base: { 'apps/web/lockwarden.policy.yml': STRICT },
      head: { 'README.md': 'docs\n' },
      workingDirectory: 'apps/web',
      expected: { from: 'base', allow: 0, action: 'block', file: 'apps/web/lockwarden.policy.yml' },
      notice: undefined,
    },
    {
      what: 'a policy file the pull request introduces',
      base: { 'README.md': 'no policy yet\n' },
      head: { 'lockwarden.policy.yml': LOOSE },
      expected: { from: 'head', allow: 1, action: 'block', file: 'lockwarden.policy.yml' },
      notice:
        /^policy file lockwarden\.policy\.yml is new in this pull request \(the base commit [0-9a-f]{12} has none\), so the pull request's own policy was applied/,
    },
    {
      what: 'an invalid new policy, reported while the base policy applies',
      base: { 'policy.yml': STRICT },
      head: { 'policy.yml': 'id: strict\ncoolingOffDays: soon\n' },
      policyFile: 'policy.yml',
      expected: { from: 'base', allow: 0, action: 'block', file: 'policy.yml' },
      notice: /takes effect after merge; the new policy is invalid: policy\.yml: .*coolingOffDays/s,
    },
    {
      what: 'an invalid base policy, repaired by the pull request',
      base: { 'policy.yml': 'id: strict\ncoolingOffDays: soon\n' },
      head: { 'policy.yml': STRICT },
      policyFile: 'policy.yml',
      expected: { from: 'head', allow: 0, action: 'block', file: 'policy.yml' },
      notice:
        /^the base branch's policy is invalid \([0-9a-f]{12}:policy\.yml: invalid policy, 1 problem:\n {2}coolingOffDays: .*\); the pull request's policy was applied instead$/s,
    },
    {
      what: 'no policy file anywhere',
      base: { 'README.md': 'a\n' },
      head: { 'README.md': 'b\n' },
      expected: { from: 'default', allow: 0, action: 'block', file: undefined },
      notice: undefined,
    },
  ])('$what', async ({ base, head, policyFile, workingDirectory, expected, notice }) => {
    const repo = repoWith({ base, head });
    const got = await read(repo, {
      ...(policyFile ? { policyFile } : {}),
      ...(workingDirectory ? { workingDirectory } : {}),
    });
    expect({
      from: got.from,
      allow: got.policy.allow.length,
      action: got.policy.action,
      file: got.file,
    }).toEqual(expected);
    if (notice === undefined) expect(got.notice).toBeUndefined();
    else {
      expect(got.notice?.message).toMatch(notice);
      expect(got.notice?.level).toBe('warning');
    }
  });

  it('applies the base policy when the pull request deletes the policy file', async () => {
    const repo = repoWith({
      base: { 'lockwarden.policy.yml': STRICT },
      head: {},
      removeAtHead: ['lockwarden.policy.yml'],
    });
    const got = await read(repo);
    expect(got.from).toBe('base');
    expect(got.policy.id).toBe('strict');
    expect(got.notice).toEqual({
      level: 'warning',
      file: 'lockwarden.policy.yml',
      message:
        "policy file lockwarden.policy.yml is removed in this pull request; the base branch's policy was applied; the new policy takes effect after merge",
    });
  });

  it('reads the head policy when the event has no base to gate against (a push)', async () => {
    const repo = repoWith({ base: { 'policy.yml': STRICT }, head: { 'policy.yml': LOOSE } });
    const got = await read(repo, { policyFile: 'policy.yml', atBase: false });
    expect(got).toMatchObject({ from: 'head', file: 'policy.yml' });
    expect(got.policy.allow).toHaveLength(1);
    expect(got.notice).toBeUndefined();
  });

  it('fails, naming the file, when the base cannot be read rather than fall back to the head', async () => {
    const repo = repoWith({ base: { 'policy.yml': STRICT }, head: { 'policy.yml': LOOSE } });
    await expect(
      readActionPolicy({
        workspace: repo.dir,
        workingDirectory: '.',
        policyFile: 'policy.yml',
        readBase: (file) =>
          readBaseFile({ workspace: repo.dir, sha: 'f'.repeat(40), path: file, commitPresent: false }),
      }),
    ).rejects.toThrow(/cannot read policy\.yml at the base commit ffffffffffff/);
  });
});
