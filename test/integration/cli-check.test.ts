// `lockwarden check name[@version]...`: the same verdicts for names on the command line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { makePackument } from '../helpers/make-packument.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);

let work: string;
let registry: FakeRegistry;
let policy: string;

async function run(argv: string[], opts: { tty?: boolean } = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c));
  stderr.on('data', (c: Buffer) => (err += c));
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: { PATH: process.env.PATH },
    cwd: work,
    now: () => NOW,
  });
  return { code, out, err };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-check-'));
  registry = await startFakeRegistry({
    shape: 'mirror',
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.3.0', publishedAt: daysAgo(900) },
          { version: '1.3.1', publishedAt: daysAgo(2) },
        ],
      }),
      makePackument({ name: 'express', versions: [{ version: '4.21.2', publishedAt: daysAgo(700) }] }),
    ],
  });
  policy = path.join(work, 'policy.json');
  writeFileSync(policy, JSON.stringify({ id: 'check', coolingOffDays: 7, typosquatting: true }));
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

const base = () => ['--policy', policy, '--registry', registry.url, '--cache-dir', path.join(work, 'cache')];

describe('lockwarden check', () => {
  it('checks the latest version when none is given', async () => {
    const { code, out } = await run(['check', 'left-pad', '--json', ...base()]);
    const report = JSON.parse(out) as Report;
    expect(code).toBe(1);
    expect(report.findings.map((f) => `${f.name}@${f.version} ${f.rule}`)).toEqual([
      'left-pad@1.3.1 cooling-off',
    ]);
  });

  it('checks an exact version', async () => {
    const { code, out } = await run(['check', 'left-pad@1.3.0', 'express@4.21.2', '--json', ...base()]);
    expect(code).toBe(0);
    expect(JSON.parse(out).summary).toMatchObject({ checked: 2, allowed: 2, blocked: 0 });
  });

  it('evaluates name-level guardrails for a name the registry does not know, and says so', async () => {
    const { code, out } = await run(['check', 'expres', '--json', ...base()]);
    const report = JSON.parse(out) as Report;
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      name: 'expres',
      version: null,
      rule: 'typosquatting',
      target: 'express',
    });
    expect(report.notices).toEqual([
      expect.objectContaining({
        kind: 'unknown-package',
        message: 'expres is unknown to the registry; only name-level guardrails were evaluated',
      }),
    ]);
  });

  it.each([
    ['block', 3, 'block'],
    ['alert', 0, 'alert'],
  ] as const)(
    'reports an unreachable registry as unavailable for a name without a version (onUnavailable: %s)',
    async (onUnavailable, exitCode, effect) => {
      const file = path.join(work, `policy-${onUnavailable}.json`);
      writeFileSync(
        file,
        JSON.stringify({ id: 'check', coolingOffDays: 7, typosquatting: true, onUnavailable }),
      );
      const { code, out } = await run([
        'check',
        'left-pad',
        '--json',
        '--policy',
        file,
        '--registry',
        await closedPortUrl(),
        '--cache-dir',
        path.join(work, `cache-down-${onUnavailable}`),
      ]);
      const report = JSON.parse(out) as Report;
      expect(code).toBe(exitCode);
      expect(report.summary.unavailable).toBe(1);
      expect(report.findings).toEqual([
        expect.objectContaining({
          name: 'left-pad',
          version: null,
          outcome: 'unavailable',
          effect,
          source: 'registry',
        }),
      ]);
      expect(report.findings[0]!.message).toMatch(/^latest version unavailable: /);
    },
  );

  it('renders a readable report grouped by rule with a summary line', async () => {
    const { out } = await run(['check', 'left-pad', 'expres', ...base()]);
    expect(out).toBe(
      [
        'lockwarden · policy check (block, onUnavailable: alert)',
        '',
        // Which version a name without one was checked at.
        'Checked',
        '  left-pad@1.3.1 (latest): block',
        '  expres (latest: unknown): block',
        '',
        'cooling-off (1)',
        '  left-pad@1.3.1  BLOCK',
        '    why:  left-pad@1.3.1 was published 2 days ago (cooling-off 7 days); it passes on 2026-11-27',
        '    fix:  wait until 2026-11-27, pin an older version, or add "left-pad@1.3.1" to allow with a reason',
        '',
        'typosquatting (1)',
        '  expres  BLOCK',
        `    why:  ${JSON.parse((await run(['check', 'expres', '--json', ...base()])).out).findings[0].message}`,
        '    fix:  if you meant express, fix the name; if expres is intended, add it to allow with a reason',
        '',
        'Notices',
        '  i expres is unknown to the registry; only name-level guardrails were evaluated',
        '',
        '2 names: 2 blocked, 0 alerts',
        '',
      ].join('\n'),
    );
  });

  it('colours the report on a terminal only', async () => {
    expect((await run(['check', 'left-pad', ...base()], { tty: true })).out).toContain(
      '\x1b[31mBLOCK\x1b[0m',
    );
    expect((await run(['check', 'left-pad', ...base()], { tty: false })).out).not.toContain('\x1b[');
  });

  it('never lets live download counts make a look-alike a sibling (they are cheap to inflate)', async () => {
    const downloads = await startFakeDownloads({ counts: { expres: 3_000_000 } });
    try {
      const strict = path.join(work, 'policy-popularity.json');
      writeFileSync(strict, JSON.stringify({ id: 'pop', typosquatting: true, minWeeklyDownloads: 100 }));
      const args = [
        'check',
        'expres',
        '--json',
        '--policy',
        strict,
        '--registry',
        registry.url,
        '--cache-dir',
        path.join(work, 'cache-dl'),
        '--downloads-url',
        downloads.url,
      ];
      const report = JSON.parse((await run(args)).out) as Report;
      expect(report.findings.map((f) => `${f.name} ${f.rule} ${f.observed}`)).toEqual([
        'expres typosquatting null',
      ]);
      expect(downloads.askedNames()).toEqual([['expres']]);
    } finally {
      await downloads.close();
    }
  });

  it('rejects hostile names before any request', async () => {
    const before = registry.requests.length;
    for (const name of ['../../etc/passwd', '%2e%2e', 'a'.repeat(215), '@scope/../x']) {
      const { code, err } = await run(['check', name, ...base()]);
      expect(code).toBe(2);
      expect(err).toMatch(
        /not a valid package spec|expected name or name@version|not a valid npm package name/,
      );
    }
    expect(registry.requests.length).toBe(before);
  });
});
