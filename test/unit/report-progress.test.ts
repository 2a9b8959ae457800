// Progress while facts arrive, and how a report tells outages from findings.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';
import { gatherFacts } from '../../src/engine/gather-facts.js';
import { buildReport, causeOf, groupUnavailable } from '../../src/engine/report.js';
import type { Fact, Finding, WeeklyDownloads } from '../../src/policy/types.js';
import { joinFindingMessages } from '../../src/policy/unavailable-finding.js';
import type { PackumentResult, Sources } from '../../src/sources/types.js';
import { makePolicy, NOW } from '../helpers/make-policy.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

function fakeTimers() {
  let t = 1_000_000;
  let tick: (() => void) | undefined;
  return {
    now: () => t,
    setInterval: (fn: () => void) => {
      tick = fn;
      return {};
    },
    clearInterval: () => {
      tick = undefined;
    },
    advance(ms: number) {
      t += ms;
      tick?.();
    },
  };
}

const snapshot = (done: number, registry: number, downloads: number, total = 10) => ({
  done,
  total,
  lookups: [
    { name: 'registry', done: registry, total },
    { name: 'downloads', done: downloads, total },
  ],
});

describe('createProgress', () => {
  it('draws the bar at once and fills it with every fact, whatever its order', () => {
    const out = capture();
    const timers = fakeTimers();
    const progress = createProgress(out.stream, { mode: 'bar', ...timers });
    progress.update(snapshot(0, 0, 0));
    expect(out.text()).toBe(
      '\r\x1b[2K[........................] 0/10 packages (registry 0/10, downloads 0/10) 0 s',
    );
    timers.advance(2000);
    progress.update(snapshot(0, 10, 0));
    timers.advance(100);
    // Registry facts all in while downloads are pending: half the bar, no package complete yet.
    expect(out.text().split('\r\x1b[2K').at(-1)).toBe(
      '[############............] 0/10 packages (registry 10/10, downloads 0/10) 2 s',
    );
    timers.advance(1000); // the clock moves on screen while a source is slow
    expect(out.text().split('\r\x1b[2K').at(-1)).toBe(
      '[############............] 0/10 packages (registry 10/10, downloads 0/10) 3 s',
    );
    progress.done();
    expect(out.text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('without a terminal, stays quiet on short runs and prints a line every few seconds on long ones', () => {
    const out = capture();
    const timers = fakeTimers();
    const progress = createProgress(out.stream, { mode: 'lines', ...timers });
    progress.update(snapshot(0, 0, 0));
    timers.advance(4000);
    expect(out.text()).toBe('');
    timers.advance(1000);
    expect(out.text()).toBe('lockwarden: 0/10 packages (registry 0/10, downloads 0/10) after 5 s\n');
    progress.update(snapshot(4, 10, 4));
    timers.advance(5000);
    expect(out.text().split('\n')).toHaveLength(2);
    timers.advance(5000);
    expect(out.text().split('\n').at(-2)).toBe(
      'lockwarden: 4/10 packages (registry 10/10, downloads 4/10) after 15 s',
    );
    progress.done();
    timers.advance(60_000);
    expect(out.text().split('\n')).toHaveLength(3);
  });
});

describe('gatherFacts progress', () => {
  it('counts registry facts as they arrive, without waiting for the downloads lookup', async () => {
    let releaseDownloads!: () => void;
    const downloadsGate = new Promise<void>((resolve) => {
      releaseDownloads = resolve;
    });
    const packument = (name: string): PackumentResult => ({
      status: 'ok',
      abbreviated: false,
      fromCache: false,
      packument: {
        name,
        'dist-tags': { latest: '1.0.0' },
        versions: { '1.0.0': { name, version: '1.0.0' } },
        time: { '1.0.0': '2020-01-01T00:00:00.000Z' },
      },
    });
    const stats = () => ({ requests: 0, bytes: 0, cacheHits: 0, errors: 0 });
    const sources: Sources = {
      registry: {
        url: 'http://127.0.0.1:9/',
        getPackument: async (name) => packument(name),
        getManifest: async () => ({ status: 'not-found' }),
        stats,
      },
      downloads: {
        url: 'http://127.0.0.1:9/',
        async getWeeklyDownloads(names) {
          await downloadsGate;
          return new Map<string, Fact<WeeklyDownloads>>(
            names.map((n) => [n, { status: 'ok', value: { count: 5000, origin: 'api' } }]),
          );
        },
        stats,
      },
      tags: { getTags: async () => ({ status: 'ok', value: [] }), stats },
      popular: { asOf: '2026-03-01', packages: [] },
    };
    const seen: string[] = [];
    const refs = ['a', 'b', 'c'].map((name) => ({ name, version: '1.0.0' }));
    const gathering = gatherFacts(refs, {
      policy: makePolicy({ coolingOffDays: 7, minWeeklyDownloads: 100 }),
      sources,
      now: NOW,
      popular: { asOf: '2026-03-01', monthlyDownloads: () => undefined },
      onProgress: (p) =>
        seen.push(`${p.done}/${p.total} ${p.lookups.map((l) => `${l.name}:${l.done}`).join(' ')}`),
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.at(-1)).toBe('0/3 registry:3 downloads:0');
    releaseDownloads();
    const facts = await gathering;
    expect(seen.at(-1)).toBe('3/3 registry:3 downloads:3');
    expect(facts.map((f) => f.facts.weeklyDownloads?.status)).toEqual(['ok', 'ok', 'ok']);
  });
});

const unavailable = (name: string, source: string, reason: string, fact = 'publish time'): Finding => ({
  name,
  version: '1.0.0',
  rule: fact === 'weekly downloads' ? 'popularity' : 'cooling-off',
  outcome: 'unavailable',
  effect: 'block',
  scope: 'version',
  source,
  evidence: { fact, reason },
  message: `${fact} unavailable: ${reason} (onUnavailable: block)`,
  hint: 'retry',
});

describe('causeOf', () => {
  it.each([
    [
      'registry http://127.0.0.1:9/left-pad: host name could not be resolved (after 3 attempts)',
      'registry',
      'host name could not be resolved',
    ],
    [
      'downloads API http://127.0.0.1:9/ unreachable: 8 requests in a row failed, the last with "timed out after 10000 ms waiting for response headers (after 3 attempts)"; not asked again for 30 s',
      'downloads API',
      'timed out after 10000 ms waiting for response headers',
    ],
    [
      'the packument has no publish time for left-pad@1.0.0',
      'registry',
      'the packument has no publish time for <package>',
    ],
    ['http://127.0.0.1:9/ does not know left-pad', 'registry', 'http://127.0.0.1:9/ does not know <package>'],
    ['GitHub API rate limit exhausted', 'GitHub API', 'GitHub API rate limit exhausted'],
  ])('%s', (reason, source, cause) => {
    expect(causeOf(reason, source, 'left-pad', '1.0.0')).toBe(cause);
  });
});

describe('groupUnavailable', () => {
  it('makes one group per source and cause, largest first, each package once', () => {
    const findings = [
      unavailable(
        'a',
        'GitHub API',
        'GitHub API http://x/repos/a/a/tags: connection refused',
        'repository tags',
      ),
      unavailable('b', 'downloads API', 'downloads API http://d/x: connection refused', 'weekly downloads'),
      unavailable('c', 'downloads API', 'downloads API http://d/y: connection refused', 'weekly downloads'),
      unavailable('c', 'registry', 'registry http://r/c: connection refused'),
      unavailable('c', 'registry', 'registry http://r/c: connection refused', 'repository tags'),
    ];
    expect(groupUnavailable(findings)).toEqual([
      {
        source: 'downloads API',
        cause: 'connection refused',
        facts: ['weekly downloads'],
        effect: 'block',
        packages: ['b@1.0.0', 'c@1.0.0'],
      },
      {
        source: 'GitHub API',
        cause: 'connection refused',
        facts: ['repository tags'],
        effect: 'block',
        packages: ['a@1.0.0'],
      },
      {
        source: 'registry',
        cause: 'connection refused',
        facts: ['publish time', 'repository tags'],
        effect: 'block',
        packages: ['c@1.0.0'],
      },
    ]);
    const report = buildReport({
      verdicts: ['a', 'b', 'c'].map((name) => ({
        name,
        version: '1.0.0',
        decision: 'block' as const,
        findings: findings.filter((f) => f.name === name),
        notices: [],
      })),
      policy: makePolicy({ onUnavailable: 'block' }),
      now: NOW,
    });
    expect(report.summary).toMatchObject({ blocked: 3, blockedByFindings: 0, unavailable: 3 });
    expect(report.exitCode).toBe(3);
  });
});

describe('joinFindingMessages (a refusal reason)', () => {
  it('says an outage once for every fact it took, and keeps other messages', () => {
    const down = 'registry http://r/x: host name could not be resolved';
    const text = joinFindingMessages([
      unavailable('x', 'registry', down),
      unavailable('x', 'registry', down, 'repository tags'),
      unavailable('x', 'downloads API', 'downloads API http://d/x: connection refused', 'weekly downloads'),
      {
        ...unavailable('x', 'registry', down),
        rule: 'typosquatting',
        outcome: 'block',
        message: 'x looks like y',
      },
    ]);
    expect(text).toBe(
      [
        `publish time, repository tags unavailable: ${down} (onUnavailable: block)`,
        'weekly downloads unavailable: downloads API http://d/x: connection refused (onUnavailable: block)',
        'x looks like y',
      ].join('; '),
    );
  });
});
