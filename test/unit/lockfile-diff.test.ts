import { describe, expect, it } from 'vitest';
import { diffInventories, type LockfileDiff } from '../../src/lockfile/diff-lockfiles.js';
import { makeInventory } from '../helpers/lockfile-builders.js';

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

  it('hands back the head entries themselves, with their locations and paths', () => {
    const head = makeInventory(['a@2.0.0', 'b@1.0.0']);
    const diff = diffInventories(makeInventory(['a@1.0.0']), head);
    expect(diff.added[0]).toBe(head.entries[1]);
    expect(diff.updated[0]!.to).toBe(head.entries[0]);
  });
});
