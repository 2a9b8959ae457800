import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LockwardenError } from '../../src/errors.js';
import type { LockfileEntry, LockfileInventory } from '../../src/lockfile/lockfile-inventory.js';
import { readLockfile, readLockfileText, workspaceFolders } from '../../src/lockfile/read-lockfile.js';
import { createTempProjects, makeV3LockText } from '../helpers/lockfile-builders.js';

const fixtures = fileURLToPath(new URL('../fixtures/lockfiles/', import.meta.url));
const fixture = (name: string) => path.join(fixtures, name);
const projects = createTempProjects();
afterEach(() => projects.cleanup());

/** One line per entry: `name@version [alias] key:line,... | a > b | flags`. */
function summarize(entry: LockfileEntry): string {
  const flags = (['dev', 'optional', 'peer', 'bundled'] as const).filter((flag) => entry[flag]);
  return [
    `${entry.name}@${entry.version}${entry.alias ? ` alias=${entry.alias}` : ''}`,
    entry.locations.map((l) => `${l.key}:${l.line}`).join(','),
    entry.path.join(' > '),
    flags.join(','),
  ].join(' | ');
}

/** 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index === -1) throw new Error(`${needle} not in text`);
  return index + 1;
}

async function expectError(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LockwardenError);
  expect((err as LockwardenError).code).toBe('ELOCKFILE');
  expect((err as LockwardenError).message).toMatch(message);
}

/** Every location's line holds its key (lv2/lv3) or, for nested lv1 entries, its last name. */
async function expectLinesHoldKeys(inventory: LockfileInventory): Promise<void> {
  const lines = (await readFile(inventory.file, 'utf8')).split('\n');
  const locations = [
    ...inventory.entries.flatMap((e) => e.locations),
    ...inventory.skipped.flatMap((s) => (s.location ? [s.location] : [])),
  ];
  for (const { line, key } of locations) {
    const needle = inventory.lockfileVersion === 1 ? key.split('node_modules/').pop()! : key;
    expect(lines[line - 1], `${key} at line ${line}`).toContain(`${JSON.stringify(needle)}: {`);
  }
}

describe('readLockfile on hand-made fixtures', () => {
  it.each([
    {
      dir: 'v3-flags',
      root: 'flags-app',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: [
        '@scope/s@1.0.0 | node_modules/@scope/s:24 | flags-app > @scope/s | ',
        'a@1.0.0 | node_modules/a:29 | flags-app > a | ',
        'b@1.0.0 | node_modules/b:43 | flags-app > d > b | dev',
        'b@2.0.0 | node_modules/a/node_modules/b:38,node_modules/c/node_modules/b:57 | flags-app > a > b | ',
        'c@1.0.0 | node_modules/c:49 | flags-app > a > c | ',
        'd@1.0.0 | node_modules/d:62 | flags-app > d | dev',
        'dopt@1.0.0 | node_modules/dopt:74 | flags-app > d > dopt | dev,optional',
        'o@1.0.0 | node_modules/o:81 | flags-app > o | optional',
        'p@1.0.0 | node_modules/p:87 | flags-app > p | peer',
      ],
      skipped: [],
      warnings: [],
    },
    {
      dir: 'v2-both',
      root: 'v2-app',
      lockfileVersion: 2,
      file: 'package-lock.json',
      entries: [
        'x@1.0.0 | node_modules/x:15 | v2-app > x | ',
        'y@1.0.0 | node_modules/y:28 | v2-app > y | ',
        'y@2.0.0 | node_modules/x/node_modules/y:23 | v2-app > x > y | ',
      ],
      skipped: [],
      warnings: [],
    },
    {
      dir: 'v1-nested',
      root: 'v1-app',
      lockfileVersion: 1,
      file: 'package-lock.json',
      entries: [
        '@s/t@1.0.0 | node_modules/@s/t:7 | v1-app > @s/t | ',
        'a@1.0.0 | node_modules/a:12 | v1-app > a | ',
        'b@1.0.0 | node_modules/b:27 | v1-app > b | dev',
        'b@2.0.0 | node_modules/a/node_modules/b:20 | v1-app > a > b | ',
        'o@1.0.0 | node_modules/o:37 | v1-app > o | optional',
      ],
      skipped: [
        {
          name: 'g',
          spec: 'git+ssh://git@github.com/o/g.git#0123456789abcdef0123456789abcdef01234567',
          reason: 'git dependency: fetched from a git host, not from a registry',
          location: { file: 'package-lock.json', line: 33, key: 'node_modules/g' },
        },
      ],
      warnings: [],
    },
    {
      dir: 'shrinkwrap',
      root: 'sw-app',
      lockfileVersion: 3,
      file: 'npm-shrinkwrap.json',
      entries: ['shared@1.1.0 | node_modules/shared:14 | sw-app > shared | '],
      skipped: [],
      warnings: [],
    },
    {
      dir: 'alias',
      root: 'alias-app',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: [
        'string-width@4.2.3 alias=str-cjs | node_modules/str-cjs:15 | alias-app > str-cjs (npm:string-width) | ',
        'string-width@5.1.2 | node_modules/string-width:21 | alias-app > string-width | ',
      ],
      skipped: [],
      warnings: [],
    },
    {
      dir: 'bundled',
      root: 'bundled-app',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: [
        'bund@1.0.0 | node_modules/bund:14 | bundled-app > bund | ',
        'deep@3.0.0 | node_modules/bund/node_modules/deep:25 | bundled-app > bund > inner > deep | bundled',
        'inner@1.0.0 | node_modules/bund/node_modules/inner:29 | bundled-app > bund > inner | bundled',
      ],
      skipped: [],
      warnings: [],
    },
    {
      dir: 'workspaces',
      root: 'ws-root',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: [
        'left@1.0.0 | node_modules/left:21 | ws-root > x > left | ',
        'left@2.0.0 | packages/y/node_modules/left:56 | ws-root > @ws/y > left | ',
        'right@1.0.0 | node_modules/right:26 | ws-root > @ws/y > right | ',
        'tool@1.0.0 | node_modules/tool:31 | ws-root > tool | dev',
      ],
      skipped: [
        {
          name: '@ws/y',
          spec: 'workspace',
          reason: 'workspace packages/y: local source, not from a registry',
          location: { file: 'package-lock.json', line: 17, key: 'node_modules/@ws/y' },
        },
        {
          name: 'x',
          spec: 'workspace',
          reason: 'workspace packages/x: local source, not from a registry',
          location: { file: 'package-lock.json', line: 37, key: 'node_modules/x' },
        },
      ],
      warnings: [],
    },
    {
      dir: 'non-registry',
      root: 'mixed-app',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: ['reg@1.0.0 | node_modules/reg:36 | mixed-app > reg | '],
      skipped: [
        {
          name: 'g',
          spec: 'git+ssh://git@github.com/o/g.git#0123456789abcdef0123456789abcdef01234567',
          reason: 'git dependency: fetched from a git host, not from a registry',
          location: { file: 'package-lock.json', line: 20, key: 'node_modules/g' },
        },
        {
          name: 'gh',
          spec: 'git+ssh://git@github.com/o/gh.git#89abcdef0123456789abcdef0123456789abcdef',
          reason: 'git dependency: fetched from a git host, not from a registry',
          location: { file: 'package-lock.json', line: 25, key: 'node_modules/gh' },
        },
        {
          name: 'local',
          spec: 'file:vendor/local',
          reason: 'linked folder vendor/local: local source, not from a registry',
          location: { file: 'package-lock.json', line: 29, key: 'node_modules/local' },
        },
        {
          name: 'nover',
          spec: 'http://127.0.0.1:4873/nover/-/nover-1.0.0.tgz',
          reason: 'no version in the lockfile entry',
          location: { file: 'package-lock.json', line: 33, key: 'node_modules/nover' },
        },
        {
          name: 'rt',
          spec: 'https://example.com/rt-1.0.0.tgz',
          reason: 'remote tarball URL: not from a registry',
          location: { file: 'package-lock.json', line: 41, key: 'node_modules/rt' },
        },
        {
          name: 'tarfile',
          spec: 'file:vendor/tarfile-1.0.0.tgz',
          reason: 'local file dependency: not from a registry',
          location: { file: 'package-lock.json', line: 46, key: 'node_modules/tarfile' },
        },
      ],
      warnings: [
        '1 invalid dependency edges (version does not match the range) e.g. (root) > nover@^1.0.0 (found no version)',
      ],
    },
    {
      dir: 'stale-workspace',
      root: 'stale-root',
      lockfileVersion: 3,
      file: 'package-lock.json',
      entries: [
        'kept@1.0.0 | node_modules/kept:14 | stale-root > live > kept | ',
        'peerish@1.0.0 | node_modules/peerish:30 | stale-root > live > kept > peerish | ',
      ],
      skipped: [
        {
          name: 'live',
          spec: 'workspace',
          reason: 'workspace packages/live: local source, not from a registry',
          location: { file: 'package-lock.json', line: 22, key: 'node_modules/live' },
        },
        {
          name: 'old',
          spec: 'file:packages/old',
          reason: 'linked folder packages/old: local source, not from a registry',
          location: { file: 'package-lock.json', line: 26, key: 'node_modules/old' },
        },
      ],
      warnings: [
        '2 missing dependency edges (stale entries?) e.g. packages/old > gone@^1.0.0, packages/old > vanished@^3.0.0',
        '1 invalid dependency edges (version does not match the range) e.g. node_modules/kept > peerish@^2.0.0 (found 1.0.0)',
      ],
    },
  ])('reads $dir', async ({ dir, root, lockfileVersion, file, entries, skipped, warnings }) => {
    const inventory = await readLockfile(fixture(dir));
    expect(inventory.file).toBe(path.join(fixture(dir), file));
    expect(inventory.root).toBe(root);
    expect(inventory.lockfileVersion).toBe(lockfileVersion);
    expect(inventory.entries.map(summarize)).toEqual(entries);
    expect(inventory.skipped).toEqual(skipped);
    expect(inventory.warnings).toEqual(warnings);
    for (const entry of inventory.entries) {
      for (const location of entry.locations) expect(location.file).toBe(file);
    }
    await expectLinesHoldKeys(inventory);
  });

  it('keeps resolved and integrity of a registry entry and omits them for bundled copies', async () => {
    const flags = await readLockfile(fixture('v3-flags'));
    expect(flags.entries.find((e) => e.name === 'b' && e.version === '2.0.0')).toEqual({
      name: 'b',
      version: '2.0.0',
      locations: [
        { file: 'package-lock.json', line: 38, key: 'node_modules/a/node_modules/b' },
        { file: 'package-lock.json', line: 57, key: 'node_modules/c/node_modules/b' },
      ],
      path: ['flags-app', 'a', 'b'],
      dev: false,
      optional: false,
      peer: false,
      bundled: false,
      resolved: 'http://127.0.0.1:4873/b/-/b-2.0.0.tgz',
      integrity: 'sha512-Yi0yLjAuMA==',
    });
    const bundled = await readLockfile(fixture('bundled'));
    const inner = bundled.entries.find((e) => e.name === 'inner');
    expect(inner).toBeDefined();
    expect(inner).not.toHaveProperty('resolved');
    expect(inner).not.toHaveProperty('integrity');
  });

  it('reads package-lock.json when asked for it although a shrinkwrap exists', async () => {
    const dir = fixture('shrinkwrap');
    const inventory = await readLockfile(dir, { lockfile: 'package-lock.json' });
    expect(inventory.file).toBe(path.join(dir, 'package-lock.json'));
    expect(inventory.entries.map(summarize)).toEqual([
      'shared@1.0.0 | node_modules/shared:14 | sw-app > shared | ',
    ]);
    expect(inventory.entries[0]!.locations[0]!.file).toBe('package-lock.json');
  });

  it('reads a lockfile in a subdirectory given relative to dir', async () => {
    const inventory = await readLockfile(fixtures, { lockfile: 'alias/package-lock.json' });
    expect(inventory.file).toBe(path.join(fixture('alias'), 'package-lock.json'));
    expect(inventory.root).toBe('alias-app');
    expect(inventory.entries[0]!.locations[0]).toEqual({
      file: 'alias/package-lock.json',
      line: 15,
      key: 'node_modules/str-cjs',
    });
  });

  it('keeps an entry whose tarball belongs to another package for the rule; warns of a URL it cannot read', async () => {
    const deps = { a: '^1.0.0', b: '^2.0.0' };
    const dir = await projects.write({
      'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }),
      'package-lock.json': makeV3LockText(
        {
          'node_modules/a': {
            name: 'lodash',
            version: '4.17.21',
            resolved: 'http://127.0.0.1:4873/evil/-/evil-6.6.6.tgz',
          },
          'node_modules/b': {
            version: '2.0.0',
            resolved: 'http://127.0.0.1:4873/download/b/2.0.0/abcdef',
          },
        },
        { name: 'app', version: '1.0.0', dependencies: deps },
      ),
    });
    const inventory = await readLockfile(dir);
    // Both are registry entries fetched from their URL: the lockfile-source rule judges what a
    // URL in the registry layout names (evil@6.6.6); the other layout is only said.
    expect(inventory.entries.map((e) => `${e.name}@${e.version} ${e.resolved}`)).toEqual([
      'b@2.0.0 http://127.0.0.1:4873/download/b/2.0.0/abcdef',
      'lodash@4.17.21 http://127.0.0.1:4873/evil/-/evil-6.6.6.tgz',
    ]);
    expect(inventory.warnings.filter((w) => w.includes('tarball'))).toEqual([
      "1 entries resolve to a tarball URL whose package and version cannot be read (not a registry's <name>/-/<name>-<version>.tgz), so the lockfile-source rule cannot check them e.g. node_modules/b (b@2.0.0) is not a registry tarball URL",
    ]);
  });

  it('reports entries nothing depends on, with a path from where they sit', async () => {
    const lockText = makeV3LockText({
      'node_modules/orphan': {
        version: '1.0.0',
        resolved: 'http://127.0.0.1:4873/orphan/-/orphan-1.0.0.tgz',
      },
      'node_modules/orphan/node_modules/inner': { version: '2.0.0' },
    });
    const dir = await projects.write({ 'package-lock.json': lockText });
    const inventory = await readLockfile(dir);
    expect(inventory.entries.map(summarize)).toEqual([
      `inner@2.0.0 | node_modules/orphan/node_modules/inner:${lineOf(lockText, '"node_modules/orphan/node_modules/inner"')} | app > orphan > inner | `,
      `orphan@1.0.0 | node_modules/orphan:${lineOf(lockText, '"node_modules/orphan"')} | app > orphan | `,
    ]);
    expect(inventory.warnings).toEqual([
      '2 lockfile entries are not reachable from the root (stale or extraneous?) e.g. node_modules/orphan, node_modules/orphan/node_modules/inner',
    ]);
  });

  it('warns about an invalid package.json and reads the root from the lockfile', async () => {
    const lockText = makeV3LockText(
      { 'node_modules/a': { version: '1.0.0' } },
      { name: 'app', version: '1.0.0', dependencies: { a: '^1.0.0' } },
    );
    const dir = await projects.write({
      'package.json': '{\n  "name": "app",\n  "dependencies": {\n}',
      'package-lock.json': lockText,
    });
    const inventory = await readLockfile(dir);
    expect(inventory.entries.map(summarize)).toEqual([
      `a@1.0.0 | node_modules/a:${lineOf(lockText, '"node_modules/a"')} | app > a | `,
    ]);
    expect(inventory.warnings).toEqual([
      "package.json: invalid JSON at line 4 col 2: Expected ',' or '}' after property value; the root dependencies come from the lockfile",
    ]);
  });
});

describe('readLockfile errors', () => {
  it.each([
    {
      what: 'invalid JSON',
      files: {
        'package-lock.json':
          '{\n  "lockfileVersion": 3,\n  "packages": {\n    "node_modules/a": { "version": }\n  }\n}',
      },
      message: /^package-lock\.json: invalid JSON at line 4 col 36: Unexpected token '}'$/,
    },
    {
      what: 'an empty object',
      files: { 'package-lock.json': '{}' },
      message: /^package-lock\.json: no "lockfileVersion" and no "dependencies"; this is not a package lock/,
    },
    {
      what: 'a malformed shrinkwrap next to a good package-lock.json',
      files: { 'npm-shrinkwrap.json': '[]', 'package-lock.json': makeV3LockText({}) },
      message: /^npm-shrinkwrap\.json: expected a JSON object, found an array$/,
    },
    {
      what: 'a spec Arborist cannot accept',
      files: {
        'package-lock.json': makeV3LockText(
          { 'node_modules/a': { version: '1.0.0' } },
          { name: 'app', dependencies: { a: { not: 'a string' } } },
        ),
      },
      message: /^package-lock\.json: npm's lockfile reader \(Arborist\) rejected it: /,
    },
  ])('rejects $what with ELOCKFILE naming the file', async ({ files, message }) => {
    const dir = await projects.write(files);
    await expectError(readLockfile(dir), message);
  });

  it('says how to create a missing lockfile', async () => {
    const dir = await projects.write({ 'package.json': '{"name":"app"}' });
    await expectError(
      readLockfile(dir),
      `no lockfile in ${dir} (looked for npm-shrinkwrap.json, package-lock.json, pnpm-lock.yaml, yarn.lock, bun.lock); run your package manager's install (e.g. npm install --package-lock-only)`,
    );
  });

  it('names an explicitly requested lockfile that does not exist', async () => {
    const dir = await projects.write({ 'package-lock.json': makeV3LockText({}) });
    await expectError(
      readLockfile(dir, { lockfile: 'sub/package-lock.json' }),
      `${path.join(dir, 'sub/package-lock.json')}: no such lockfile`,
    );
  });
});

describe('readLockfile on hostile documents', () => {
  const root = (dependencies: Record<string, string>) => ({ name: 'app', version: '1.0.0', dependencies });

  it.each([
    {
      what: 'a __proto__ packages key',
      lock: makeV3LockText(
        { __proto__PLACEHOLDER: { version: '1.0.0' }, 'node_modules/a': { version: '1.0.0' } },
        root({ a: '^1.0.0' }),
      ),
      entries: ['a@1.0.0'],
      skipped: ['__proto__ file:__proto__'],
    },
    {
      what: 'a __proto__ version',
      lock: makeV3LockText({ 'node_modules/a': { version: '__proto__' } }, root({ a: '__proto__' })),
      entries: ['a@__proto__'],
      skipped: [],
    },
    {
      what: 'keys that climb out of the project',
      lock: makeV3LockText(
        {
          'node_modules/a': { version: '1.0.0' },
          '../../../etc/x': { version: '1.0.0' },
          'node_modules/../../y': { version: '2.0.0' },
        },
        root({ a: '^1.0.0' }),
      ),
      entries: ['a@1.0.0'],
      skipped: ['x file:../../etc/x', 'y file:../y'],
    },
  ])('reads $what as data', async ({ lock, entries, skipped }) => {
    // JSON.stringify drops a literal __proto__ property; write the key into the text instead.
    const text = lock.replace('"__proto__PLACEHOLDER"', '"__proto__"');
    const inventory = await readLockfileText(text, undefined, 'package-lock.json');
    expect(inventory.entries.map((e) => `${e.name}@${e.version}`)).toEqual(entries);
    expect(inventory.skipped.map((e) => `${e.name} ${e.spec}`)).toEqual(skipped);
  });

  it('rejects a dependency named constructor, which npm cannot read, with a hint', async () => {
    const lock = makeV3LockText(
      { 'node_modules/constructor': { version: '1.0.0' } },
      root({ constructor: '^1.0.0' }),
    );
    await expectError(
      readLockfileText(lock, undefined, 'package-lock.json'),
      /^package-lock\.json: npm's lockfile reader \(Arborist\) rejected it: .*\(a dependency named like an Object property, such as constructor or __proto__\?\)$/,
    );
  });

  it('reads a deeply nested lockfileVersion 1 tree', async () => {
    const depth = 300;
    const text = `{"lockfileVersion":1,"dependencies":{"a":${'{"version":"1.0.0","dependencies":{"a":'.repeat(depth)}{"version":"2.0.0"}${'}}'.repeat(depth)}}}`;
    const inventory = await readLockfileText(text, undefined, 'package-lock.json');
    expect(inventory.root).toBe('(root)');
    expect(inventory.entries.map((e) => `${e.name}@${e.version} x${e.locations.length}`)).toEqual([
      `a@1.0.0 x${depth}`,
      'a@2.0.0 x1',
    ]);
  });
});

describe('readLockfileText', () => {
  const packageJson = JSON.stringify({ name: 'base-app', version: '1.0.0', dependencies: { x: '^1.0.0' } });
  const lockText = makeV3LockText(
    { 'node_modules/x': { version: '1.0.0', resolved: 'http://127.0.0.1:4873/x/-/x-1.0.0.tgz' } },
    { name: 'base-app', version: '1.0.0', dependencies: { x: '^1.0.0' } },
  );

  it.each([
    { what: 'with its package.json', pkg: packageJson, name: 'package-lock.json' },
    { what: 'without a package.json', pkg: undefined, name: 'apps/web/package-lock.json' },
    { what: 'named as a shrinkwrap', pkg: packageJson, name: 'npm-shrinkwrap.json' },
  ])('reads base text $what', async ({ pkg, name }) => {
    const inventory = await readLockfileText(lockText, pkg, name);
    expect(inventory.file).toBe(name);
    expect(inventory.root).toBe('base-app');
    expect(inventory.entries.map(summarize)).toEqual([
      `x@1.0.0 | node_modules/x:${lineOf(lockText, '"node_modules/x"')} | base-app > x | `,
    ]);
    expect(inventory.entries[0]!.locations[0]!.file).toBe(name);
    expect(inventory.warnings).toEqual([]);
  });

  it('sees the workspaces when given their manifests, and keeps folders outside the project out', async () => {
    const rootManifest = { name: 'mono', version: '1.0.0', workspaces: ['packages/*'] };
    const text = makeV3LockText(
      {
        'node_modules/w': { resolved: 'packages/w', link: true },
        'packages/w': { name: 'w', version: '1.0.0' },
        'node_modules/shared': { resolved: '../shared', link: true },
        '../shared': { name: 'shared', version: '1.0.0' },
      },
      { ...rootManifest },
    );
    expect(workspaceFolders(text)).toEqual(['../shared', 'packages/w']);
    expect(workspaceFolders(text, { insideOnly: true })).toEqual(['packages/w']);
    const without = await readLockfileText(text, JSON.stringify(rootManifest), 'package-lock.json');
    const withManifests = await readLockfileText(
      text,
      JSON.stringify(rootManifest),
      'package-lock.json',
      new Map([
        ['packages/w', JSON.stringify({ name: 'w', version: '1.0.0' })],
        ['../../escaped', '{}'],
      ]),
    );
    const spec = (i: typeof without) => i.skipped.find((s) => s.name === 'w')?.spec;
    expect(spec(without)).toBe('file:packages/w');
    expect(spec(withManifests)).toBe('workspace');
  });

  it('reports errors under the given name, not a temp path', async () => {
    await expectError(
      readLockfileText('{"lockfileVersion": 3, "packages": ', undefined, 'apps/web/package-lock.json'),
      /^apps\/web\/package-lock\.json: invalid JSON at line 1 col 36: /,
    );
  });
});

describe('inventory cache', () => {
  it('reuses an inventory for unchanged files and notices any change Arborist would see', async () => {
    const { cpSync, mkdtempSync, readFileSync: read, writeFileSync: write, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'lw-inventory-cache-'));
    try {
      const project = path.join(tmp, 'project');
      const cacheDir = path.join(tmp, 'cache');
      cpSync(path.resolve(import.meta.dirname, '../fixtures/lockfiles/workspaces'), project, {
        recursive: true,
      });
      const first = await readLockfile(project, { cacheDir });
      const { flushDiskCaches } = await import('../../src/sources/disk-cache.js');
      await flushDiskCaches();
      expect(await readLockfile(project, { cacheDir })).toEqual(first);
      expect(await readLockfile(project)).toEqual(first);

      // A workspace's package.json changes what Arborist sees: not served from the cache.
      const wsKey = Object.keys(
        JSON.parse(read(path.join(project, 'package-lock.json'), 'utf8')).packages,
      ).find((k) => k !== '' && !k.startsWith('node_modules/'))!;
      const wsManifest = path.join(project, wsKey, 'package.json');
      const manifest = JSON.parse(read(wsManifest, 'utf8'));
      write(wsManifest, JSON.stringify({ ...manifest, name: 'renamed-workspace' }));
      const afterWs = await readLockfile(project, { cacheDir });
      expect(afterWs).toEqual(await readLockfile(project));
      expect(afterWs).not.toEqual(first);

      // A lockfile edit is seen too.
      const lockPath = path.join(project, 'package-lock.json');
      const lock = JSON.parse(read(lockPath, 'utf8'));
      const depKey = Object.keys(lock.packages).find(
        (k) => k.startsWith('node_modules/') && lock.packages[k].version,
      )!;
      lock.packages[depKey].version = '99.0.0';
      write(lockPath, JSON.stringify(lock, null, 2));
      const afterLock = await readLockfile(project, { cacheDir });
      expect(afterLock.entries.some((e) => e.version === '99.0.0')).toBe(true);
    } finally {
      const { flushDiskCaches: settle } = await import('../../src/sources/disk-cache.js');
      await settle();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
