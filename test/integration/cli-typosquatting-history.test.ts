// `lockwarden check` under a typosquatting-only policy reads a flagged name's packument: an
// established look-alike is cleared, a fresh or one-version one is kept, an outage keeps it, and
// a name that is not flagged costs no request. The proxy's entry point reaches the same verdict.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { evaluatePackument } from '../../src/engine/evaluate-packument.js';
import type { Report } from '../../src/engine/report.js';
import { typosquattingNeedsHistory } from '../../src/policy/typosquatting.js';
import type { Sources } from '../../src/sources/types.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { type FullPackument, makePackument } from '../helpers/make-packument.js';
import { makePolicy } from '../helpers/make-policy.js';
import { realPopularIndex } from '../helpers/real-popular-index.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);

/** `count` versions published evenly between `firstDays` and `lastDays` ago. */
function history(name: string, count: number, firstDays: number, lastDays: number): FullPackument {
  return makePackument({
    name,
    versions: Array.from({ length: count }, (_, i) => ({
      version: `1.${i}.0`,
      publishedAt: daysAgo(count === 1 ? firstDays : firstDays - ((firstDays - lastDays) * i) / (count - 1)),
    })),
  });
}

const DOCS = {
  established: history('expres', 30, 3000, 60),
  fresh: history('l0dash', 12, 20, 1),
  oneVersion: history('axi0s', 1, 2500, 2500),
};

let work: string;
let policy: string;
const registries: FakeRegistry[] = [];

async function run(argv: string[]) {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c));
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: { PATH: process.env.PATH },
    cwd: work,
    now: () => NOW,
  });
  return { code, report: JSON.parse(out) as Report };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-typo-history-'));
  policy = path.join(work, 'policy.json');
  writeFileSync(policy, JSON.stringify({ id: 'typo', typosquatting: true }));
  for (const shape of ['public', 'mirror'] as const)
    registries.push(await startFakeRegistry({ shape, packuments: Object.values(DOCS) }));
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  rmSync(work, { recursive: true, force: true });
});

const args = (registry: string, cache: string) => [
  '--json',
  '--policy',
  policy,
  '--registry',
  registry,
  '--cache-dir',
  path.join(work, cache),
];

describe.each(['public', 'mirror'] as const)(
  'check with a typosquatting-only policy (%s-shaped registry)',
  (shape) => {
    const registry = () => registries.find((r) => r.shape === shape)!;

    it('flags every name used here, so the history is what decides', () => {
      for (const doc of Object.values(DOCS))
        expect(
          typosquattingNeedsHistory(makePolicy({ typosquatting: true }), doc.name, realPopularIndex()),
        ).toBe(true);
    });

    it('clears an established look-alike and keeps a fresh and a one-version one', async () => {
      const { code, report } = await run([
        'check',
        'expres',
        'l0dash',
        'axi0s@1.0.0',
        ...args(registry().url, `cache-${shape}`),
      ]);
      expect(report.findings.map((f) => `${f.name} ${f.rule} ${f.target}`).sort()).toEqual([
        'axi0s typosquatting axios',
        'l0dash typosquatting lodash',
      ]);
      expect(code).toBe(1);
    });

    it('reads one document per flagged name and none for a name that is not flagged', async () => {
      registry().requests.length = 0;
      const { code, report } = await run([
        'check',
        'expres',
        'express',
        ...args(registry().url, `cache-count-${shape}`),
      ]);
      expect(code).toBe(0);
      expect(report.findings).toEqual([]);
      const paths = registry().requests.map((r) => r.url);
      expect(paths.every((p) => p.startsWith('/expres'))).toBe(true);
      expect(paths.some((p) => p.startsWith('/express'))).toBe(false);
    });
  },
);

describe('when the history cannot be read', () => {
  it('keeps the look-alike finding (never a silent pass)', async () => {
    const { code, report } = await run([
      'check',
      'expres',
      ...args(await closedPortUrl(), 'cache-down'),
      '--retries',
      '0',
    ]);
    expect(report.findings.map((f) => `${f.name} ${f.rule} ${f.outcome}`)).toEqual([
      'expres typosquatting block',
      // The outage itself is reported too, as every registry read reports one.
      'expres not-on-registry unavailable',
    ]);
    expect(code).toBe(1);
  });
});

describe('the proxy entry point', () => {
  const refuse = { getPackument: () => Promise.reject(new Error('full documents need no fetch')) };
  it.each([
    [DOCS.established, 0],
    [DOCS.fresh, 1],
    [DOCS.oneVersion, 1],
  ])('judges %# as the CLI does', async (doc, findings) => {
    const evaluation = await evaluatePackument(doc, {
      policy: makePolicy({ typosquatting: true }),
      sources: { registry: { ...refuse, url: 'http://127.0.0.1:9/' } } as unknown as Sources,
      now: NOW,
      popular: realPopularIndex(),
    });
    expect(evaluation.packageFindings.filter((f) => f.rule === 'typosquatting')).toHaveLength(findings);
  });
});
