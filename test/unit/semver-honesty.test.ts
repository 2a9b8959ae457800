import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compareDeclarations } from '../../src/engine/compare-declarations.js';
import { readPackageInterface } from '../../src/policy/package-interface.js';
import {
  classifyBump,
  compareManifestInterfaces,
  describeChange,
  evaluateSemverHonesty,
  MAX_FINDINGS_PER_UPDATE,
} from '../../src/policy/semver-honesty.js';
import type { Finding, Verdict } from '../../src/policy/types.js';
import { describeSkip, selectUpdateCandidates } from '../../src/policy/update-candidates.js';
import { unpackTarball } from '../../src/sources/unpack-tarball.js';
import { NOW } from '../helpers/make-policy.js';

const iface = (pkg: Record<string, unknown>, files: string[] = ['index.js']) =>
  readPackageInterface({ name: 'p', version: '1.0.0', ...pkg }, new Set(files));

describe('classifyBump', () => {
  it.each([
    ['1.2.3', '1.3.0', 'minor'],
    ['1.2.3', '1.2.4', 'patch'],
    ['1.2.3', '2.0.0', 'major'],
    ['0.2.3', '0.3.0', 'major'],
    ['0.2.3', '0.2.4', 'patch'],
    ['0.0.3', '0.0.4', 'major'],
    ['1.2.3', '1.3.0-beta.1', 'prerelease'],
    ['1.3.0', '1.2.0', 'none'],
    ['not-semver', '1.0.0', 'none'],
  ])('%s → %s is %s', (from, to, kind) => {
    expect(classifyBump(from, to)).toBe(kind);
  });
});

describe('compareManifestInterfaces', () => {
  it.each([
    [
      'an exports subpath removed',
      { exports: { '.': './a.js', './utils': './u.js' } },
      { exports: { '.': './a.js' } },
      ['removes export "./utils" from its exports map'],
    ],
    [
      'a condition removed',
      { exports: { '.': { import: './a.mjs', require: './a.cjs' } } },
      { exports: { '.': { import: './a.mjs' } } },
      ['removes the "require" condition of exports["."]'],
    ],
    [
      'engines narrowed',
      { engines: { node: '>=14' } },
      { engines: { node: '>=18' } },
      ['narrows engines.node >=14 → >=18'],
    ],
    ['engines widened', { engines: { node: '>=18' } }, { engines: { node: '>=16' } }, []],
    ['engines added', {}, { engines: { node: '>=20' } }, ['narrows engines.node (any) → >=20']],
    [
      'peer narrowed',
      { peerDependencies: { react: '>=17' } },
      { peerDependencies: { react: '>=18' } },
      ['narrows peer dependency react >=17 → >=18'],
    ],
    [
      'optional peer added',
      {},
      { peerDependencies: { x: '1' }, peerDependenciesMeta: { x: { optional: true } } },
      [],
    ],
    ['required peer added', {}, { peerDependencies: { x: '^1' } }, ['adds required peer dependency x@^1']],
    [
      'bin removed',
      { bin: { a: 'a.js', b: 'b.js' } },
      { bin: { a: 'a.js' } },
      ['removes the "b" command (bin)'],
    ],
    ['types moved', { types: 'a.d.ts' }, { types: 'b.d.ts' }, ['changes "types" a.d.ts → b.d.ts']],
    [
      'exports map introduced',
      { main: 'a.js' },
      { main: 'a.js', exports: './a.js' },
      ['changes "exports" (none) → an exports map'],
    ],
    ['only additions', { exports: { '.': './a.js' } }, { exports: { '.': './a.js', './b': './b.js' } }, []],
  ])('%s', (_label, before, after, expected) => {
    expect(compareManifestInterfaces(iface(before), iface(after)).map(describeChange)).toEqual(expected);
  });
});

describe('readPackageInterface', () => {
  it('finds the declaration of each entry from conditions, siblings and `types`', () => {
    const files = new Set(['dist/index.js', 'dist/index.d.ts', 'dist/u.mjs', 'dist/u.d.mts', 'x.js']);
    const i = readPackageInterface(
      {
        name: '@s/p',
        exports: { '.': './dist/index.js', './u': { import: './dist/u.mjs' }, './*': './x.js' },
      },
      files,
    );
    expect(i.entries).toEqual([
      { specifier: '@s/p', subpath: '.', types: 'dist/index.d.ts', js: 'dist/index.js' },
      { specifier: '@s/p/u', subpath: './u', types: 'dist/u.d.mts', js: 'dist/u.mjs' },
    ]);
  });
});

describe('evaluateSemverHonesty', () => {
  const change = {
    kind: 'engines-narrowed' as const,
    entry: 'p',
    subject: 'engines.node',
    from: '>=14',
    to: '>=18',
  };
  it('flags minors and patches with the policy effect, never majors, never when off', () => {
    const policy = { semverHonesty: 'block' as const };
    expect(
      evaluateSemverHonesty({ name: 'p', from: '1.0.0', to: '1.0.1', changes: [change], policy })[0],
    ).toMatchObject({
      rule: 'semver-honesty',
      effect: 'block',
      message: 'p 1.0.0 → 1.0.1 narrows engines.node >=14 → >=18: a breaking change in a patch release',
    });
    expect(
      evaluateSemverHonesty({ name: 'p', from: '1.0.0', to: '2.0.0', changes: [change], policy }),
    ).toEqual([]);
    expect(
      evaluateSemverHonesty({
        name: 'p',
        from: '1.0.0',
        to: '1.1.0',
        changes: [change],
        policy: { semverHonesty: 'off' },
      }),
    ).toEqual([]);
  });
  it('caps the findings and says how many more there were', () => {
    const many = Array.from({ length: 15 }, () => change);
    const out = evaluateSemverHonesty({
      name: 'p',
      from: '1.0.0',
      to: '1.1.0',
      changes: many,
      policy: { semverHonesty: 'alert' },
    });
    expect(out).toHaveLength(MAX_FINDINGS_PER_UPDATE);
    expect(out.at(-1)!.message).toContain('(and 5 more breaking changes)');
  });
});

describe('compareDeclarations', () => {
  const side = (dts: string) => ({
    texts: new Map([['index.d.ts', dts]]),
    entries: [{ specifier: 'p', subpath: '.', types: 'index.d.ts' }],
  });
  it.each([
    [
      'export removed',
      'export declare const a: 1; export declare const b: 1;',
      'export declare const a: 1;',
      ['declaration-removed:b'],
    ],
    [
      'required parameter added',
      'export declare function f(a: string): void;',
      'export declare function f(a: string, b: number): void;',
      ['parameter-required:f()'],
    ],
    [
      'optional parameter added',
      'export declare function f(a: string): void;',
      'export declare function f(a: string, b?: number): void;',
      [],
    ],
    [
      'parameter removed',
      'export declare function f(a: string, b?: number): void;',
      'export declare function f(a: string): void;',
      ['parameter-removed:f()'],
    ],
    [
      'parameter type widened',
      'export declare function f(a: string): void;',
      'export declare function f(a: string | number): void;',
      [],
    ],
    [
      'parameter type narrowed',
      'export declare function f(a: string | number): void;',
      'export declare function f(a: string): void;',
      ['type-narrowed:f(a)'],
    ],
    [
      'overload kept',
      'export declare function f(a: string): void;',
      'export declare function f(a: number): void; export declare function f(a: string): void;',
      [],
    ],
    [
      'property made required',
      'export interface O { a?: number }',
      'export interface O { a: number }',
      ['property-required:O.a'],
    ],
    [
      'property removed',
      'export interface O { a?: number; b: string }',
      'export interface O { b: string }',
      ['property-removed:O.a'],
    ],
    [
      'class method removed',
      'export declare class C { m(): void; n(): void }',
      'export declare class C { m(): void }',
      ['property-removed:C.n'],
    ],
    [
      'class turned into a type',
      'export declare class C {}',
      'export interface C {}',
      ['declaration-removed:C (as a value)'],
    ],
    ['alias narrowed', 'export type M = "a" | "b";', 'export type M = "a";', ['type-narrowed:M']],
    ['re-export through a relative file', "export { a } from './a';", "export { a } from './a';", []],
  ])('%s', (_label, before, after, expected) => {
    const changes = compareDeclarations(side(before), side(after));
    expect(changes.map((c) => `${c.kind}:${c.subject}`)).toEqual(expected);
  });
});

describe('unpackTarball', () => {
  const tar = (entries: { path: string; body: string }[]) => {
    const blocks: Buffer[] = [];
    for (const e of entries) {
      const h = Buffer.alloc(512);
      h.write(e.path, 0, 100);
      h.write('0000644\0', 100);
      h.write('0000000\0', 108);
      h.write('0000000\0', 116);
      h.write(`${Buffer.byteLength(e.body).toString(8).padStart(11, '0')}\0`, 124);
      h.write('00000000000\0', 136);
      h.write('        ', 148);
      h.write('0', 156);
      h.write('ustar\0', 257);
      h.write('00', 263);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      const body = Buffer.from(e.body);
      blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return gzipSync(Buffer.concat(blocks));
  };
  const limits = { maxUnpackedBytes: 1e6, maxFileBytes: 1e5 };

  it('reads wanted files, strips the top folder and never follows ../', async () => {
    const out = await unpackTarball(
      tar([
        { path: 'package/package.json', body: '{}' },
        { path: 'package/../../etc/passwd', body: 'x' },
        { path: 'package/lib/a.d.ts', body: 'export {}' },
      ]),
      (f) => f.endsWith('.json') || f.endsWith('.d.ts'),
      limits,
    );
    expect([...out.files]).toEqual(['package.json', 'lib/a.d.ts']);
    expect(out.texts.get('lib/a.d.ts')).toBe('export {}');
  });

  it('refuses a gzip bomb and garbage', async () => {
    const bomb = gzipSync(Buffer.alloc(5e6));
    await expect(unpackTarball(bomb, () => true, limits)).rejects.toThrow(/unpacks to more than/);
    await expect(unpackTarball(Buffer.from([0x1f, 0x8b, 1, 2, 3]), () => true, limits)).rejects.toThrow(
      /not a gzip/,
    );
  });
});

describe('update candidates', () => {
  const finding = (over: Partial<Finding>): Finding => ({
    name: 'p',
    version: '1.1.0',
    rule: 'cooling-off',
    outcome: 'block',
    effect: 'block',
    scope: 'version',
    message: 'p@1.1.0 was published 2 days ago',
    hint: '',
    ...over,
  });
  const verdict = (version: string, findings: Finding[]): [string, Verdict] => [
    version,
    { name: 'p', version, decision: 'allow', findings, notices: [] },
  ];

  it('hides blocked and version-flagged versions, keeps package-level alerts and flagged pins', () => {
    const verdicts = new Map([
      verdict('1.0.0', [
        finding({ effect: 'alert', outcome: 'alert', scope: 'package', rule: 'popularity' }),
      ]),
      verdict('1.1.0', [finding({})]),
      verdict('1.2.0', [finding({ effect: 'alert', outcome: 'alert' })]),
      verdict('1.3.0', [finding({ effect: 'alert', outcome: 'alert' })]),
    ]);
    const { keep, hidden } = selectUpdateCandidates(verdicts, new Set(['1.3.0']));
    expect([...keep]).toEqual(['1.0.0', '1.3.0']);
    expect([...hidden.keys()]).toEqual(['1.1.0', '1.2.0']);
  });

  it('describes a cooling-off skip with its age and the day it passes', () => {
    const f = finding({
      evidence: {
        publishedAt: new Date(NOW.getTime() - 2 * 86400000).toISOString(),
        passesAt: new Date(NOW.getTime() + 5 * 86400000).toISOString(),
      },
    });
    expect(describeSkip(f, NOW)).toBe('cooling-off (published 2 days ago; passes on 2026-11-27)');
    expect(describeSkip(finding({ rule: 'blocklist', message: 'p@1.1.0 is on the block list' }), NOW)).toBe(
      'blocklist (is on the block list)',
    );
  });
});
