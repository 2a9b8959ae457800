// Atomic writes go through a temporary file beside their target; a write that fails must take its
// temporary file with it (on a full disk it would hold the space freed later). The failure here is
// the last step, the rename over a target that is a non-empty directory: by then the temporary
// file is complete, the most a failure can leave behind.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicJsonFile } from '../../server/atomic-json-file.js';
import { replaceFileSync } from '../../src/sources/fact-cache.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lockwarden-temp-cleanup-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A target the rename cannot replace. */
function blockedTarget(name: string): string {
  const target = path.join(dir, name);
  mkdirSync(target);
  writeFileSync(path.join(target, 'inside'), 'x');
  return target;
}

const leftovers = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('failed atomic writes leave no temporary file', () => {
  it('replaceFileSync (the fact cache rewrite)', () => {
    const target = blockedTarget('facts.jsonl');
    expect(() => replaceFileSync(target, 'a line\n'.repeat(10_000))).toThrow();
    expect(leftovers()).toEqual([]);
    // And a write that can succeed still does, leaving nothing beside it either.
    const good = path.join(dir, 'good.jsonl');
    replaceFileSync(good, 'one\n');
    expect(readFileSync(good, 'utf8')).toBe('one\n');
    expect(leftovers()).toEqual([]);
  });

  it('AtomicJsonFile (the embedded store and audit log state)', async () => {
    const failing = new AtomicJsonFile<{ n: number }>(blockedTarget('state.json'));
    await expect(failing.write({ n: 1 })).rejects.toThrow();
    // Queued writes behind a failed one run and fail alike; none leaves a file.
    await Promise.allSettled([failing.write({ n: 2 }), failing.write({ n: 3 })]);
    expect(readdirSync(dir).filter((n) => n.startsWith('.state.json.'))).toEqual([]);
    const good = new AtomicJsonFile<{ n: number }>(path.join(dir, 'ok.json'));
    await good.write({ n: 4 });
    expect(await good.read()).toEqual({ n: 4 });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
