// pnpm, yarn (classic and Berry) and bun lockfiles read into the same inventory as npm's.
// The `clients/` fixtures are one project locked by each real client against a loopback registry.
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LockwardenError } from '../../src/errors.js';
import { mergeInventories } from '../../src/lockfile/build-inventory.js';
import { detectLockfiles, lockfileFormat } from '../../src/lockfile/lockfile-formats.js';
import type { LockfileInventory } from '../../src/lockfile/lockfile-inventory.js';
import { directoryFiles, readManifest } from '../../src/lockfile/project-files.js';
import {
  readLockfile,
  readLockfiles,
  readLockfileText,
  workspaceFolders,
} from '../../src/lockfile/read-lockfile.js';
import { createTempProjects } from '../helpers/lockfile-builders.js';

const fixtures = fileURLToPath(new URL('../fixtures/lockfiles/', import.meta.url));
const projects = createTempProjects();
afterEach(() => projects.cleanup());

/** `name@version alias=x | path | flags`, one per entry. */
function summarize(inventory: LockfileInventory): string[] {
  return inventory.entries.map((e) => {
    const flags = (['dev', 'optional', 'peer', 'bundled'] as const).filter((f) => e[f]);
    return [
      `${e.name}@${e.version}${e.alias ? ` alias=${e.alias}` : ''}`,
      e.path.join(' > '),
      flags.join(','),
    ].join(' | ');
  });
}

/** Every location points at a line where an entry of that package begins. */
async function expectLinesBeginEntries(dir: string, inventory: LockfileInventory): Promise<void> {
  const lines = (await readFile(path.join(dir, path.basename(inventory.file)), 'utf8')).split('\n');
  for (const entry of inventory.entries) {
    for (const { line, key } of entry.locations) {
      const text = lines[line - 1] ?? '';
      expect(text, `${entry.name}@${entry.version} at line ${line}`).toMatch(/^\S|^ {2}\S|^ {4}"/);
      expect(text, `${key} at line ${line}`).toContain(
        entry.alias && !text.includes(entry.name) ? entry.alias : entry.name,
      );
    }
  }
}

async function expectError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LockwardenError);
  expect((err as LockwardenError).code).toBe('ELOCKFILE');
  expect((err as LockwardenError).message).toMatch(message);
}

describe('one project locked by npm, pnpm, yarn classic, yarn Berry and bun', () => {
  const clients = ['npm', 'pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const;
  const expected = [
    '@acme/is-odd@3.0.0 | app > @acme/is-odd | ',
    'dev-tool@2.0.0 | app > dev-tool | dev',
    'left-pad@1.0.0 alias=pad | app > pad (npm:left-pad) | ',
    'left-pad@1.1.0 | app > left-pad | ',
  ];

  it.each(clients)('%s: the same entries, paths and flags', async (client) => {
    const dir = path.join(fixtures, 'clients', client);
    const inventory = await readLockfile(dir);
    expect(summarize(inventory)).toEqual(expected);
    expect(inventory.root).toBe('app');
    expect(inventory.warnings).toEqual([]);
    expect(inventory.skipped.map((s) => `${s.name} ${s.spec}`)).toEqual([
      'lib workspace',
      'local-thing file:vendor/local-thing',
    ]);
    await expectLinesBeginEntries(dir, inventory);
  });

  it.each(['npm', 'pnpm', 'yarn-classic', 'bun'] as const)(
    '%s: resolved and integrity kept where the lockfile has them',
    async (client) => {
      const inventory = await readLockfile(path.join(fixtures, 'clients', client));
      const leftPad = inventory.entries.find((e) => e.name === 'left-pad' && e.version === '1.1.0')!;
      expect(leftPad.integrity).toMatch(/^sha512-NNcmoy/);
      if (client !== 'pnpm')
        expect(leftPad.resolved).toMatch(/^http:\/\/127\.0\.0\.1:4873\/left-pad\/-\/left-pad-1\.1\.0\.tgz/);
    },
  );

  it('pnpm: each entry is annotated on its packages key, once per name@version', async () => {
    const dir = path.join(fixtures, 'clients', 'pnpm');
    const inventory = await readLockfile(dir);
    const text = (await readFile(path.join(dir, 'pnpm-lock.yaml'), 'utf8')).split('\n');
    const isOdd = inventory.entries.find((e) => e.name === '@acme/is-odd')!;
    expect(isOdd.locations).toHaveLength(1);
    expect(text[isOdd.locations[0]!.line - 1]).toBe("  '@acme/is-odd@3.0.0':");
  });
});

describe('pnpm-lock.yaml', () => {
  it('lockfileVersion 6.0: peers suffixes, aliases, git, file:, workspaces, dev and optional', async () => {
    const dir = path.join(fixtures, 'pnpm-v6');
    const inventory = await readLockfile(dir);
    expect(inventory.lockfileVersion).toBe(6);
    expect(summarize(inventory)).toEqual([
      '@acme/is-odd@3.0.0 | web > @web/ui > @acme/is-odd | ',
      'fsevents-ish@2.3.3 | web > fsevents-ish | optional',
      'js-tokens@4.0.0 | web > react > loose-envify > js-tokens | ',
      'left-pad@1.0.0 alias=pad | web > pad (npm:left-pad) | ',
      'left-pad@1.1.0 | web > left-pad | ',
      'loose-envify@1.4.0 | web > react > loose-envify | ',
      'react@18.2.0 | web > react | ',
      'react-dom@18.2.0 | web > react-dom | ',
      'scheduler@0.23.0 | web > react-dom > scheduler | ',
    ]);
    expect(inventory.skipped.map((s) => [s.name, s.spec, s.reason])).toEqual([
      ['@web/ui', 'workspace', 'workspace packages/ui: local source, not from a registry'],
      ['local-thing', 'file:vendor/local-thing', 'local file dependency: not from a registry'],
      [
        'tiny-lib',
        'https://codeload.github.com/acme/tiny-lib/tar.gz/5c1f9b0',
        'git dependency: fetched from a git host, not from a registry',
      ],
    ]);
    const reactDom = inventory.entries.find((e) => e.name === 'react-dom')!;
    expect(reactDom.locations[0]!.key).toBe('/react-dom@18.2.0(react@18.2.0)');
    await expectLinesBeginEntries(dir, inventory);
  });

  it('lockfileVersion 9.0: catalogs, patches, peer variants, git and dev-only packages', async () => {
    const text = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

catalogs:
  default:
    react:
      specifier: ^18.2.0
      version: 18.2.0

patchedDependencies:
  left-pad@1.1.0:
    hash: 4c3b2a
    path: patches/left-pad@1.1.0.patch

importers:

  .:
    dependencies:
      left-pad:
        specifier: ^1.1.0
        version: 1.1.0(patch_hash=4c3b2a)
      react:
        specifier: 'catalog:'
        version: 18.2.0
      ui-kit:
        specifier: ^1.0.0
        version: 1.0.0(react@18.2.0)
      tool:
        specifier: git+https://git.example.test/tool.git#abc123
        version: git+https://git.example.test/tool.git#abc123
    devDependencies:
      tester:
        specifier: ^1.0.0
        version: 1.0.0(react@18.2.0)

packages:

  left-pad@1.1.0:
    resolution: {integrity: sha512-aaa=}

  react@18.2.0:
    resolution: {integrity: sha512-bbb=}

  tester@1.0.0:
    resolution: {integrity: sha512-ccc=}
    peerDependencies:
      react: '*'

  tool@git+https://git.example.test/tool.git#abc123:
    resolution: {commit: abc123, repo: https://git.example.test/tool.git, type: git}
    version: 0.3.0

  ui-kit@1.0.0:
    resolution: {integrity: sha512-ddd=}
    peerDependencies:
      react: '>=17'

snapshots:

  left-pad@1.1.0(patch_hash=4c3b2a): {}

  react@18.2.0: {}

  tester@1.0.0(react@18.2.0):
    dependencies:
      react: 18.2.0
      ui-kit: 1.0.0(react@18.2.0)

  tool@git+https://git.example.test/tool.git#abc123: {}

  ui-kit@1.0.0(react@18.2.0):
    dependencies:
      react: 18.2.0
`;
    const inventory = await readLockfileText(text, JSON.stringify({ name: 'app' }), 'pnpm-lock.yaml');
    expect(summarize(inventory)).toEqual([
      'left-pad@1.1.0 | app > left-pad | ',
      'react@18.2.0 | app > react | ',
      'tester@1.0.0 | app > tester | dev',
      'ui-kit@1.0.0 | app > ui-kit | ',
    ]);
    const lineOf = (needle: string) => text.split('\n').lastIndexOf(needle) + 1;
    expect(inventory.entries.map((e) => [e.name, e.integrity, e.locations[0]!.line])).toEqual([
      ['left-pad', 'sha512-aaa=', lineOf('  left-pad@1.1.0:')],
      ['react', 'sha512-bbb=', lineOf('  react@18.2.0:')],
      ['tester', 'sha512-ccc=', lineOf('  tester@1.0.0:')],
      ['ui-kit', 'sha512-ddd=', lineOf('  ui-kit@1.0.0:')],
    ]);
    expect(lineOf('  left-pad@1.1.0:')).toBeGreaterThan(lineOf('packages:'));
    expect(inventory.skipped).toEqual([
      {
        name: 'tool',
        spec: 'git+https://git.example.test/tool.git#abc123',
        reason: 'git dependency: fetched from a git host, not from a registry',
        location: {
          file: 'pnpm-lock.yaml',
          line: lineOf('  tool@git+https://git.example.test/tool.git#abc123:'),
          key: 'tool@git+https://git.example.test/tool.git#abc123',
        },
      },
    ]);
  });

  it('refuses other lockfile versions and broken YAML, naming the file and line', async () => {
    await expectError(
      readLockfileText("lockfileVersion: '5.4'\n", undefined, 'pnpm-lock.yaml'),
      /pnpm-lock\.yaml: lockfileVersion 5\.4 is not supported \(6\.0 and 9\.0 are/,
    );
    await expectError(
      readLockfileText(
        "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {resolution: {integrity: x}\n",
        undefined,
        'pnpm-lock.yaml',
      ),
      /pnpm-lock\.yaml: invalid YAML at line \d/,
    );
    await expectError(readLockfileText('- a\n- b\n', undefined, 'pnpm-lock.yaml'), /not a pnpm lockfile/);
    await expectError(
      readLockfileText(
        "lockfileVersion: '9.0'\nsnapshots:\n  a@1.0.0: &big\n    dependencies: {b: 1.0.0}\n  c@1.0.0: *big\n",
        undefined,
        'pnpm-lock.yaml',
      ),
      /pnpm-lock\.yaml: YAML alias at line 5: lockfiles have none; refusing to expand it/,
    );
  });
});

describe('yarn.lock', () => {
  it('classic: git, remote tarballs and file: are skipped; no package.json is said, not hidden', async () => {
    const text = `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@scope/pkg@^1.0.0", "@scope/pkg@^1.2.0":
  version "1.2.3"
  resolved "http://127.0.0.1:4873/@scope/pkg/-/pkg-1.2.3.tgz#0123456789abcdef"
  integrity sha512-scoped==
  dependencies:
    dep "~2.0.0"

dep@~2.0.0:
  version "2.0.1"
  resolved "http://127.0.0.1:4873/dep/-/dep-2.0.1.tgz"
  integrity sha512-dep==

"gitdep@git+https://git.example.test/gitdep.git#v1":
  version "1.0.0"
  resolved "git+https://git.example.test/gitdep.git#0a1b2c"

"remote@http://127.0.0.1:4873/files/remote.tgz":
  version "3.0.0"
  resolved "http://127.0.0.1:4873/files/remote.tgz"
`;
    const inventory = await readLockfileText(text, undefined, 'yarn.lock');
    expect(summarize(inventory)).toEqual([
      '@scope/pkg@1.2.3 | (root) > @scope/pkg | ',
      'dep@2.0.1 | (root) > @scope/pkg > dep | ',
    ]);
    expect(inventory.entries[0]!.locations).toEqual([
      { file: 'yarn.lock', line: 5, key: '@scope/pkg@^1.0.0' },
    ]);
    expect(inventory.entries[0]!.resolved).toBe(
      'http://127.0.0.1:4873/@scope/pkg/-/pkg-1.2.3.tgz#0123456789abcdef',
    );
    expect(inventory.skipped.map((s) => [s.name, s.spec, s.location?.line])).toEqual([
      ['gitdep', 'git+https://git.example.test/gitdep.git#0a1b2c', 17],
      ['remote', 'http://127.0.0.1:4873/files/remote.tgz', 21],
    ]);
    expect(inventory.warnings[0]).toMatch(/package\.json not found: yarn classic does not lock/);
  });

  // yarn 1 verifies the `#<hex>` fragment as the tarball's SHA-1 when the entry has no integrity
  // line (lockfiles written before yarn 1.10 have none): it is carried as that SRI.
  it.each([
    [
      'fragment only: the SHA-1 it stands for',
      'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"',
      'sha1-ASNFZ4mrze8BI0VniavN7wEjRWc=',
    ],
    [
      'upper-case hex',
      'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz#0123456789ABCDEF0123456789ABCDEF01234567"',
      'sha1-ASNFZ4mrze8BI0VniavN7wEjRWc=',
    ],
    [
      'an integrity line wins (yarn checks it instead)',
      'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"\n  integrity sha512-abc==',
      'sha512-abc==',
    ],
    ['no fragment, no integrity', 'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz"', undefined],
    [
      'a fragment that is not a SHA-1',
      'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz#0123abcd"',
      undefined,
    ],
    [
      'a second fragment is not part of the hash',
      'resolved "http://127.0.0.1:4873/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567#x"',
      'sha1-ASNFZ4mrze8BI0VniavN7wEjRWc=',
    ],
  ])('classic: %s', async (_what, lines, integrity) => {
    const text = `# yarn lockfile v1\n\na@^1.0.0:\n  version "1.0.0"\n  ${lines}\n`;
    const [entry] = (await readLockfileText(text, undefined, 'yarn.lock')).entries;
    expect(entry?.integrity).toBe(integrity);
  });

  // Berry records a URL where the registry's layout does not give it (`::__archiveUrl=`), and a
  // registry descriptor edited to resolve to a URL is fetched from there: both are registry
  // entries with that URL; a URL dependency someone declared stays a remote tarball.
  it.each([
    [
      '__archiveUrl binding',
      '"left-pad@npm:^1.1.0"',
      'left-pad@npm:1.1.0::__archiveUrl=https%3A%2F%2Fregistry.example.test%2Fleft-pad%2F-%2Fleft-pad-1.1.0.tgz',
      { version: '1.1.0', resolved: 'https://registry.example.test/left-pad/-/left-pad-1.1.0.tgz' },
    ],
    [
      'a registry descriptor resolved to a URL',
      '"left-pad@npm:^1.1.0"',
      'left-pad@https://tarballs.evil.test/payload.tgz',
      { version: '1.1.0', resolved: 'https://tarballs.evil.test/payload.tgz' },
    ],
    ['no URL', '"left-pad@npm:^1.1.0"', 'left-pad@npm:1.1.0', { version: '1.1.0', resolved: undefined }],
    [
      'a URL dependency',
      '"left-pad@https://tarballs.example.test/left-pad.tgz"',
      'left-pad@https://tarballs.example.test/left-pad.tgz',
      { skipped: 'https://tarballs.example.test/left-pad.tgz' },
    ],
  ])('Berry: %s', async (_what, key, resolution, expected) => {
    const text = `__metadata:\n  version: 8\n  cacheKey: 10c0\n\n${key}:\n  version: 1.1.0\n  resolution: "${resolution}"\n  checksum: 10c0/abcd\n  languageName: node\n  linkType: hard\n`;
    const inventory = await readLockfileText(text, undefined, 'yarn.lock');
    if ('skipped' in expected) {
      expect(inventory.entries).toEqual([]);
      expect(inventory.skipped.map((s) => s.spec)).toEqual([expected.skipped]);
      return;
    }
    expect(
      inventory.entries.map((e) => [e.name, e.version, e.resolved, e.checksum, e.locations[0]?.line]),
    ).toEqual([['left-pad', expected.version, expected.resolved, '10c0/abcd', 5]]);
  });

  it('Berry: patches check the version they patch; workspaces, git and portals are skipped', async () => {
    const text = `__metadata:
  version: 8
  cacheKey: 10c0

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    gitdep: "https://git.example.test/gitdep.git#commit=0a1b2c"
    left-pad: "patch:left-pad@npm%3A^1.1.0#~/.yarn/patches/left-pad-npm-1.1.0-abc.patch"
    tools: "workspace:^"
  languageName: unknown
  linkType: soft

"gitdep@https://git.example.test/gitdep.git#commit=0a1b2c":
  version: 1.0.0
  resolution: "gitdep@https://git.example.test/gitdep.git#commit=0a1b2c"
  languageName: node
  linkType: hard

"left-pad@npm:1.1.0":
  version: 1.1.0
  resolution: "left-pad@npm:1.1.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"left-pad@patch:left-pad@npm%3A^1.1.0#~/.yarn/patches/left-pad-npm-1.1.0-abc.patch":
  version: 1.1.0
  resolution: "left-pad@patch:left-pad@npm%3A1.1.0#~/.yarn/patches/left-pad-npm-1.1.0-abc.patch::version=1.1.0&hash=abc"
  checksum: 10c0/def
  languageName: node
  linkType: hard

"tools@workspace:^, tools@workspace:tools":
  version: 0.0.0-use.local
  resolution: "tools@workspace:tools"
  dependencies:
    left-pad: "npm:1.1.0"
  languageName: unknown
  linkType: soft
`;
    const inventory = await readLockfileText(text, undefined, 'yarn.lock');
    expect(inventory.root).toBe('app');
    expect(summarize(inventory)).toEqual(['left-pad@1.1.0 | app > left-pad | ']);
    expect(inventory.entries[0]!.locations.map((l) => l.line)).toEqual([21, 28]);
    expect(inventory.skipped.map((s) => [s.name, s.spec, s.reason])).toEqual([
      [
        'gitdep',
        'https://git.example.test/gitdep.git#commit=0a1b2c',
        'git dependency: fetched from a git host, not from a registry',
      ],
      ['tools', 'workspace', 'workspace tools: local source, not from a registry'],
    ]);
  });

  it('refuses unresolved merge conflicts and Berry YAML aliases', async () => {
    const conflicted = `# yarn lockfile v1\n\n<<<<<<< HEAD\nleft-pad@^1.0.0:\n  version "1.1.0"\n=======\nleft-pad@^1.0.0:\n  version "1.2.0"\n>>>>>>> branch\n`;
    const read = await readLockfileText(conflicted, undefined, 'yarn.lock').then(
      (inventory) => inventory,
      (err: unknown) => err,
    );
    // yarn resolves some conflicts itself (a merge); either way nothing passes silently.
    if (read instanceof Error)
      expect(read.message).toMatch(/yarn\.lock: (unresolved merge conflict|not a readable)/);
    else expect((read as LockfileInventory).warnings.join('\n')).toMatch(/merge conflict markers/);
    await expectError(
      readLockfileText(
        '__metadata:\n  version: 8\n\n"a@npm:1.0.0": &x\n  version: 1.0.0\n"b@npm:1.0.0": *x\n',
        undefined,
        'yarn.lock',
      ),
      /YAML alias at line 6/,
    );
  });

  it('refuses text that is not a yarn.lock', async () => {
    await expectError(
      readLockfileText('a:\n  b: [\n', undefined, 'yarn.lock'),
      /yarn\.lock: not a readable yarn\.lock/,
    );
  });
});

describe('bun.lock', () => {
  it('nested copies, aliases, git, workspaces and optional peers', async () => {
    const text = `{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "app",
      "dependencies": { "a": "^1.0.0", "pad": "npm:left-pad@1.0.0", "g": "github:acme/g" },
      "devDependencies": { "b": "^1.0.0" },
    },
    "packages/w": { "name": "w", "dependencies": { "a": "2.0.0" } },
  },
  "packages": {
    "a": ["a@1.0.0", "", { "dependencies": { "c": "^1.0.0" } }, "sha512-a1=="],
    "b": ["b@1.0.0", "", { "dependencies": { "a": "^2.0.0" }, "peerDependencies": { "x": "*" }, "optionalPeers": ["x"] }, "sha512-b=="],
    "b/a": ["a@2.0.0", "", {}, "sha512-a2=="],
    "c": ["c@1.0.0", "", {}, "sha512-c=="],
    "g": ["g@github:acme/g#0a1b2c", {}, "acme-g-0a1b2c"],
    "pad": ["left-pad@1.0.0", "", {}, "sha512-lp=="],
    "w": ["w@workspace:packages/w"],
    "w/a": ["a@2.0.0", "", {}, "sha512-a2=="],
  }
}
`;
    const inventory = await readLockfileText(text, undefined, 'bun.lock');
    expect(summarize(inventory)).toEqual(
      [
        'a@1.0.0 | app > a | ',
        // Both paths are as short; the root's own dependencies are walked before workspaces.
        'a@2.0.0 | app > b > a | ',
        'c@1.0.0 | app > a > c | ',
        'b@1.0.0 | app > b | dev',
        'left-pad@1.0.0 alias=pad | app > pad (npm:left-pad) | ',
      ].sort((x, y) => (x < y ? -1 : 1)),
    );
    const a2 = inventory.entries.find((e) => e.name === 'a' && e.version === '2.0.0')!;
    expect(a2.locations.map((l) => `${l.key}:${l.line}`)).toEqual(['b/a:14', 'w/a:19']);
    expect(a2.integrity).toBe('sha512-a2==');
    expect(inventory.skipped.map((s) => [s.name, s.spec])).toEqual([
      ['g', 'github:acme/g#0a1b2c'],
      ['w', 'workspace'],
    ]);
  });

  it('refuses a lockfile nested too deeply to read with a clear error, not a crash', async () => {
    // A pull request can commit any text: 200,000 nested arrays overflowed the parser's stack.
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    await expectError(
      readLockfileText(`{"lockfileVersion": 1, "packages": {"x": ${deep}}}`, undefined, 'bun.lock'),
      /bun\.lock: nested too deeply to read/,
    );
    await expectError(
      readLockfileText(
        `lockfileVersion: '9.0'\npackages:\n  x@1.0.0: ${deep}\n`,
        undefined,
        'pnpm-lock.yaml',
      ),
      /^pnpm-lock\.yaml: /,
    );
  });

  it('refuses the binary bun.lockb, broken JSON and unknown versions', async () => {
    await expectError(
      readLockfileText('\0bun-lockfile-format-v0\n', undefined, 'bun.lockb'),
      /bun install --save-text-lockfile/,
    );
    await expectError(
      readLockfileText('{"lockfileVersion": 1, "packages": {', undefined, 'bun.lock'),
      /bun\.lock: not a readable bun\.lock at line 1/,
    );
    await expectError(
      readLockfileText('{"lockfileVersion": 9}', undefined, 'bun.lock'),
      /lockfileVersion 9 is not supported/,
    );
  });
});

describe('the base side of a pull request (text only)', () => {
  it.each([
    ['pnpm-v6', 'pnpm-lock.yaml', 'packages/ui'],
    ['clients/pnpm', 'pnpm-lock.yaml', 'packages/lib'],
    ['clients/yarn-berry', 'yarn.lock', 'packages/lib'],
    ['clients/yarn-classic', 'yarn.lock', 'packages/lib'],
    ['clients/bun', 'bun.lock', 'packages/lib'],
  ])(
    '%s: with the workspace manifests, the same inventory as from the directory',
    async (fixture, name, folder) => {
      const dir = path.join(fixtures, fixture);
      const text = await readFile(path.join(dir, name), 'utf8');
      // Yarn classic's lockfile names no workspace: the caller knows them from the head.
      if (name !== 'yarn.lock' || fixture.endsWith('berry')) expect(workspaceFolders(text)).toEqual([folder]);
      const manifests = new Map([[folder, await readFile(path.join(dir, folder, 'package.json'), 'utf8')]]);
      const fromText = await readLockfileText(
        text,
        await readFile(path.join(dir, 'package.json'), 'utf8'),
        name,
        manifests,
      );
      const fromDir = await readLockfile(dir);
      expect(summarize(fromText)).toEqual(summarize(fromDir));
      expect(fromText.skipped.map((s) => `${s.name} ${s.spec}`)).toEqual(
        fromDir.skipped.map((s) => `${s.name} ${s.spec}`),
      );
    },
  );
});

describe('detection', () => {
  it('names formats by file name', () => {
    expect(
      ['package-lock.json', 'a/pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'x.json'].map(lockfileFormat),
    ).toEqual(['npm', 'pnpm', 'yarn', 'bun', 'npm']);
  });

  it('finds every lockfile present and audits them all, saying so', async () => {
    const pnpm = await readFile(path.join(fixtures, 'clients/pnpm/pnpm-lock.yaml'), 'utf8');
    const yarn = await readFile(path.join(fixtures, 'clients/yarn-classic/yarn.lock'), 'utf8');
    const pkg = await readFile(path.join(fixtures, 'clients/pnpm/package.json'), 'utf8');
    const dir = await projects.write({ 'package.json': pkg, 'pnpm-lock.yaml': pnpm, 'yarn.lock': yarn });
    expect(await detectLockfiles(dir)).toEqual(['pnpm-lock.yaml', 'yarn.lock']);
    const inventories = await readLockfiles(dir);
    expect(inventories.map((i) => path.basename(i.file))).toEqual(['pnpm-lock.yaml', 'yarn.lock']);
    expect(inventories[0]!.warnings[0]).toMatch(
      /several lockfiles in .*: pnpm-lock\.yaml, yarn\.lock; all of them were audited/,
    );
    const merged = mergeInventories(inventories);
    const isOdd = merged.entries.find((e) => e.name === '@acme/is-odd')!;
    expect(isOdd.locations.map((l) => l.file)).toEqual(['pnpm-lock.yaml', 'yarn.lock']);
    // Each copy is fetched from what its own lockfile records: both kept for lockfile-source.
    expect(isOdd.sources?.map((s) => [s.location.file, s.resolved?.replace(/#.*/, '')])).toEqual([
      ['pnpm-lock.yaml', undefined],
      ['yarn.lock', 'http://127.0.0.1:4873/@acme/is-odd/-/is-odd-3.0.0.tgz'],
    ]);
    expect(merged.entries).toHaveLength(4);
  });

  it('says which names it looked for when there is none', async () => {
    const dir = await projects.write({ 'package.json': '{}' });
    await expectError(
      readLockfiles(dir),
      /no lockfile in .* \(looked for npm-shrinkwrap\.json, package-lock\.json, pnpm-lock\.yaml, yarn\.lock, bun\.lock\)/,
    );
  });
});

describe('files read beside a lockfile', () => {
  const pnpmLock = `lockfileVersion: '9.0'

importers:

  .:
    dependencies: {}

  packages/x:
    dependencies:
      left-pad:
        specifier: 1.1.0
        version: 1.1.0

packages:

  left-pad@1.1.0:
    resolution: {integrity: sha512-abc}

snapshots:

  left-pad@1.1.0: {}
`;

  it('never reads a package.json that links outside the project, nor quotes one that is not JSON', async () => {
    const outside = await projects.write({ 'secret.txt': 'root:x:0:0:runner-secret\n' });
    const dir = await projects.write({
      'pnpm-lock.yaml': pnpmLock,
      'package.json': '{"name": "mono"}',
      'packages/y/package.json': 'TOP-SECRET-CONTENT, not JSON',
    });
    await mkdir(path.join(dir, 'packages/x'));
    await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'packages/x/package.json'));
    const inventory = await readLockfile(dir);
    expect(inventory.entries.map((e) => `${e.name}@${e.version}`)).toEqual(['left-pad@1.1.0']);
    const said = JSON.stringify(inventory);
    expect(said).not.toContain('root:x');
    expect(said).not.toContain('runner-secret');

    const files = directoryFiles(dir);
    expect(await files.read('packages/x/package.json')).toBeUndefined();
    expect(await files.read('../secret.txt')).toBeUndefined();
    const warnings: string[] = [];
    expect(await readManifest(files, 'packages/y/package.json', warnings)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^packages\/y\/package\.json: invalid JSON \(.*\); ignored$/);
    expect(warnings[0]).not.toContain('TOP-SECRET');
  });
});
