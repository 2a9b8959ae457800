import { describe, expect, it } from 'vitest';
import { setSources } from '../../src/lockfile/copy-sources.js';
import { diffInventories, type LockfileDiff } from '../../src/lockfile/diff-lockfiles.js';
import type { CopySource, LockfileEntry, SkippedEntry } from '../../src/lockfile/lockfile-inventory.js';
import { makeInventory, makeLockfileEntry } from '../helpers/lockfile-builders.js';

/** The diff as plain strings, so a table row reads like a changelog. */
function render(diff: LockfileDiff) {
  return {
    added: diff.added.map((e) => `${e.name}@${e.version}`),
    updated: diff.updated.map((u) => `${u.name}: ${u.from.join('|')} -> ${u.to.version}`),
    removed: diff.removed.map((r) => `${r.name}@${r.version}`),
    unchanged: diff.unchanged,
  };
}

describe('diffInventories', () => {
  it.each([
    {
      what: 'no base lockfile: everything is added',
      base: null,
      head: ['a@1.0.0', '@s/b@2.0.0'],
      expected: { added: ['a@1.0.0', '@s/b@2.0.0'], updated: [], removed: [], unchanged: 0 },
    },
    {
      what: 'identical lockfiles',
      base: ['a@1.0.0', 'b@2.0.0'],
      head: ['a@1.0.0', 'b@2.0.0'],
      expected: { added: [], updated: [], removed: [], unchanged: 2 },
    },
    {
      what: 'a new package',
      base: ['a@1.0.0'],
      head: ['a@1.0.0', 'new@0.1.0'],
      expected: { added: ['new@0.1.0'], updated: [], removed: [], unchanged: 1 },
    },
    {
      what: 'a version bump',
      base: ['a@1.0.0', '@s/b@1.2.0'],
      head: ['a@1.0.0', '@s/b@1.3.0'],
      expected: { added: [], updated: ['@s/b: 1.2.0 -> 1.3.0'], removed: ['@s/b@1.2.0'], unchanged: 1 },
    },
    {
      what: 'a second copy next to a kept one',
      base: ['a@1.0.0', 'a@2.0.0'],
      head: ['a@1.0.0', 'a@2.0.0', 'a@3.0.0'],
      expected: { added: [], updated: ['a: 1.0.0|2.0.0 -> 3.0.0'], removed: [], unchanged: 2 },
    },
    {
      what: 'two copies replaced by one, listing only the versions that went',
      base: ['a@1.0.0', 'a@1.5.0', 'a@2.0.0'],
      head: ['a@2.0.0', 'a@2.1.0'],
      expected: {
        added: [],
        updated: ['a: 1.0.0|1.5.0 -> 2.1.0'],
        removed: ['a@1.0.0', 'a@1.5.0'],
        unchanged: 1,
      },
    },
    {
      what: 'a removed package',
      base: ['a@1.0.0', 'gone@1.0.0'],
      head: ['a@1.0.0'],
      expected: { added: [], updated: [], removed: ['gone@1.0.0'], unchanged: 1 },
    },
    {
      what: 'versions sorted by semver, not as text',
      base: ['a@1.10.0', 'a@1.9.0'],
      head: ['a@2.0.0'],
      expected: {
        added: [],
        updated: ['a: 1.9.0|1.10.0 -> 2.0.0'],
        removed: ['a@1.10.0', 'a@1.9.0'],
        unchanged: 0,
      },
    },
    {
      what: 'names that look like object keys',
      base: ['__proto__@1.0.0', 'constructor@1.0.0'],
      head: ['__proto__@1.0.1', 'toString@1.0.0', 'constructor@1.0.0'],
      expected: {
        added: ['toString@1.0.0'],
        updated: ['__proto__: 1.0.0 -> 1.0.1'],
        removed: ['__proto__@1.0.0'],
        unchanged: 1,
      },
    },
  ])('$what', ({ base, head, expected }) => {
    const diff = diffInventories(base === null ? null : makeInventory(base), makeInventory(head));
    expect(render(diff)).toEqual(expected);
  });

  it('a version moved into a hoisted location is an update of it, not a removal', () => {
    // base: debug 4.3.3 hoisted, 4.4.3 nested under a; head: 4.4.3 hoisted, the nested copy gone.
    const at = (name: string, version: string, key: string) =>
      makeLockfileEntry({ name, version, locations: [{ file: 'package-lock.json', line: 1, key }] });
    const base = makeInventory([], {
      entries: [
        at('a', '1.0.0', 'node_modules/a'),
        at('debug', '4.3.3', 'node_modules/debug'),
        at('debug', '4.4.3', 'node_modules/a/node_modules/debug'),
      ],
    });
    const head = makeInventory([], {
      entries: [at('a', '1.0.0', 'node_modules/a'), at('debug', '4.4.3', 'node_modules/debug')],
    });
    const diff = diffInventories(base, head);
    expect(render(diff)).toEqual({
      added: [],
      updated: ['debug: 4.3.3 -> 4.4.3'],
      removed: ['debug@4.3.3'],
      unchanged: 1,
    });
    expect(diff.updated[0]!.to).toBe(head.entries[1]);
    // A new nested copy of a kept version takes a free place: nothing is replaced.
    const nested = makeInventory([], {
      entries: [
        at('a', '1.0.0', 'node_modules/a'),
        at('debug', '4.3.3', 'node_modules/debug'),
        makeLockfileEntry({
          name: 'debug',
          version: '4.4.3',
          locations: [
            { file: 'package-lock.json', line: 1, key: 'node_modules/a/node_modules/debug' },
            { file: 'package-lock.json', line: 2, key: 'node_modules/b/node_modules/debug' },
          ],
        }),
      ],
    });
    expect(render(diffInventories(base, nested))).toEqual({
      added: [],
      updated: [],
      removed: [],
      unchanged: 3,
    });
  });

  it('hands back the head entries themselves, with their locations and paths', () => {
    const head = makeInventory(['a@2.0.0', 'b@1.0.0']);
    const diff = diffInventories(makeInventory(['a@1.0.0']), head);
    expect(diff.added[0]).toBe(head.entries[1]);
    expect(diff.updated[0]!.to).toBe(head.entries[0]);
  });
});

const TARBALL = 'http://127.0.0.1:4873/a/-/a-1.0.0.tgz';
const OTHER_TARBALL = 'http://127.0.0.1:9/a/-/a-1.0.0.tgz';

/** One-entry inventories whose entry has the given `resolved` / `integrity` / `checksum`. */
function withSource(source: Partial<Pick<LockfileEntry, 'resolved' | 'integrity' | 'checksum'>>) {
  return makeInventory([], { entries: [makeLockfileEntry({ name: 'a', version: '1.0.0', ...source })] });
}

describe('diffInventories: the same name@version from another source', () => {
  it.each([
    {
      what: 'another integrity',
      base: { resolved: TARBALL, integrity: 'sha512-old' },
      head: { resolved: TARBALL, integrity: 'sha512-new' },
      fields: ['integrity'],
    },
    {
      what: 'another tarball URL',
      base: { resolved: TARBALL, integrity: 'sha512-x' },
      head: { resolved: OTHER_TARBALL, integrity: 'sha512-x' },
      fields: ['resolved'],
    },
    {
      what: 'both',
      base: { resolved: TARBALL, integrity: 'sha512-old' },
      head: { resolved: OTHER_TARBALL, integrity: 'sha512-new' },
      fields: ['resolved', 'integrity'],
    },
    {
      what: 'an integrity the base did not record',
      base: { resolved: TARBALL },
      head: { resolved: TARBALL, integrity: 'sha512-new' },
      fields: ['integrity'],
    },
    {
      what: 'the same source',
      base: { resolved: TARBALL, integrity: 'sha512-x' },
      head: { resolved: TARBALL, integrity: 'sha512-x' },
      fields: [],
    },
    {
      what: 'another yarn Berry checksum',
      base: { resolved: TARBALL, checksum: '10c0/aaaa' },
      head: { resolved: TARBALL, checksum: '10c0/bbbb' },
      fields: ['checksum'],
    },
    { what: 'neither recorded on both sides', base: {}, head: {}, fields: [] },
  ])('$what', ({ base, head, fields }) => {
    const headInventory = withSource(head);
    const diff = diffInventories(withSource(base), headInventory);
    expect(diff.added).toEqual([]);
    expect(diff.updated).toEqual([]);
    expect(diff.removed).toEqual([]);
    if (fields.length === 0) {
      expect(diff.sourceChanged).toEqual([]);
      expect(diff.unchanged).toBe(1);
    } else {
      expect(diff.sourceChanged).toEqual([
        { from: expect.objectContaining(base), to: headInventory.entries[0], fields },
      ]);
      expect(diff.unchanged).toBe(0);
    }
  });
});

type Copy = [key: string, source: Omit<CopySource, 'location'>];

/** `c@2.0.0` with one copy per `[location key, source]`, merged as the lockfile readers merge them. */
function copiesOfC(copies: Copy[]): LockfileEntry {
  const sources = copies.map(([key, source], i) => ({
    location: { file: 'package-lock.json', line: 10 * (i + 1), key },
    ...source,
  }));
  const entry = makeLockfileEntry({
    name: 'c',
    version: '2.0.0',
    locations: sources.map((s) => s.location),
    ...copies[0]![1],
  });
  setSources(entry, sources);
  return entry;
}

describe('diffInventories: each copy of a name@version by its own source', () => {
  const REGISTRY = { resolved: TARBALL, integrity: 'sha512-c' };
  const OUTSIDE = { resolved: OTHER_TARBALL, integrity: 'sha512-c' };
  const A = 'node_modules/a/node_modules/c';
  const B = 'node_modules/b/node_modules/c';
  const D = 'node_modules/d/node_modules/c';
  it.each<{ what: string; base: Copy[]; head: Copy[]; fields: string[] }>([
    {
      what: 'a nested non-first copy pointed at an outside host',
      base: [
        [A, REGISTRY],
        [B, REGISTRY],
      ],
      head: [
        [A, REGISTRY],
        [B, OUTSIDE],
      ],
      fields: ['resolved'],
    },
    {
      what: 'a new copy (under a new dependency) from an outside host',
      base: [[A, REGISTRY]],
      head: [
        [A, REGISTRY],
        [D, OUTSIDE],
      ],
      fields: ['resolved'],
    },
    {
      what: 'a new copy with another integrity',
      base: [[A, REGISTRY]],
      head: [
        [A, REGISTRY],
        [D, { ...REGISTRY, integrity: 'sha512-evil' }],
      ],
      fields: ['integrity'],
    },
    {
      what: 'a copy that drops its integrity',
      base: [
        [A, REGISTRY],
        [B, REGISTRY],
      ],
      head: [
        [A, REGISTRY],
        [B, { resolved: TARBALL }],
      ],
      fields: ['integrity'],
    },
    {
      what: 'a copy with another yarn Berry checksum',
      base: [
        [A, { resolved: TARBALL, checksum: '10c0/aaaa' }],
        [B, { resolved: TARBALL, checksum: '10c0/aaaa' }],
      ],
      head: [
        [A, { resolved: TARBALL, checksum: '10c0/aaaa' }],
        [B, { resolved: TARBALL, checksum: '10c0/bbbb' }],
      ],
      fields: ['checksum'],
    },
    {
      what: "a copy mixing one base copy's URL with another's integrity",
      base: [
        [A, REGISTRY],
        [B, { resolved: OTHER_TARBALL, integrity: 'sha512-other' }],
      ],
      head: [
        [A, REGISTRY],
        [B, { resolved: OTHER_TARBALL, integrity: 'sha512-c' }],
        [D, REGISTRY],
      ],
      fields: ['integrity'],
    },
    {
      what: 'a new copy from the same source as a base copy',
      base: [[A, REGISTRY]],
      head: [
        [A, REGISTRY],
        [D, REGISTRY],
      ],
      fields: [],
    },
    {
      what: 'copies that disagreed in base, moved about, each from a source base had',
      base: [
        [A, REGISTRY],
        [B, OUTSIDE],
      ],
      head: [
        [B, OUTSIDE],
        [D, REGISTRY],
        [A, OUTSIDE],
      ],
      fields: [],
    },
  ])('$what', ({ base, head, fields }) => {
    const headEntry = copiesOfC(head);
    const diff = diffInventories(
      makeInventory([], { entries: [copiesOfC(base)] }),
      makeInventory([], { entries: [headEntry] }),
    );
    expect(diff.added).toEqual([]);
    expect(diff.updated).toEqual([]);
    if (fields.length === 0) {
      expect(diff.sourceChanged).toEqual([]);
      expect(diff.unchanged).toBe(1);
    } else {
      expect(diff.sourceChanged).toEqual([{ from: expect.anything(), to: headEntry, fields }]);
      expect(diff.unchanged).toBe(0);
    }
  });
});

function skipped(name: string, spec: string): SkippedEntry {
  return {
    name,
    spec,
    reason: 'not from a registry',
    location: { file: 'package-lock.json', line: 9, key: `node_modules/${name}` },
  };
}

describe('diffInventories: entries that are not registry packages', () => {
  const kept = skipped('kept', 'git+ssh://git@127.0.0.1/o/kept.git#1111111111111111111111111111111111111111');
  it.each([
    {
      what: 'a new git dependency, a moved one and an unchanged one',
      base: [kept, skipped('moved', 'git+ssh://git@127.0.0.1/o/moved.git#aaaa')],
      head: [
        kept,
        skipped('moved', 'git+ssh://git@127.0.0.1/o/moved.git#bbbb'),
        skipped('evil', 'http://127.0.0.1:9/evil-1.0.0.tgz'),
        skipped('local', 'file:vendor/local'),
      ],
      expected: ['moved', 'evil', 'local'],
    },
    { what: 'nothing new', base: [kept], head: [kept], expected: [] },
  ])('$what', ({ base, head, expected }) => {
    const diff = diffInventories(
      makeInventory(['x@1.0.0'], { skipped: base }),
      makeInventory(['x@1.0.0'], { skipped: head }),
    );
    expect(diff.skippedAdded.map((s) => s.name)).toEqual(expected);
  });

  it('lists every skipped entry of a new lockfile', () => {
    const diff = diffInventories(null, makeInventory([], { skipped: [kept] }));
    expect(diff.skippedAdded).toEqual([kept]);
  });
});
