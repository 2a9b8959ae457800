// The dry run's staging copy: the files it names, with the texts given, and nothing left behind
// in the temporary directory when a copy fails.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageProject } from '../../src/engine/stage-project.js';

let root: string;
let project: string;
let tmpRoot: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lockwarden-stage-test-'));
  project = path.join(root, 'project');
  tmpRoot = path.join(root, 'tmp');
  mkdirSync(path.join(project, 'packages/a'), { recursive: true });
  mkdirSync(tmpRoot);
  writeFileSync(path.join(project, 'package-lock.json'), '{"lockfileVersion":3}\n');
  writeFileSync(path.join(project, 'packages/a/package.json'), '{"name":"a"}\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('stageProject', () => {
  it('copies the files named, writing the texts given instead', async () => {
    const staged = await stageProject(
      project,
      [{ path: 'package-lock.json' }, { path: 'packages/a/package.json', text: '{"name":"a","v":2}\n' }],
      { tmpRoot },
    );
    expect(path.dirname(staged)).toBe(tmpRoot);
    expect(readFileSync(path.join(staged, 'package-lock.json'), 'utf8')).toBe('{"lockfileVersion":3}\n');
    expect(readFileSync(path.join(staged, 'packages/a/package.json'), 'utf8')).toBe('{"name":"a","v":2}\n');
    // The project itself is untouched.
    expect(readFileSync(path.join(project, 'packages/a/package.json'), 'utf8')).toBe('{"name":"a"}\n');
  });

  it('removes the staging directory when a copy fails', async () => {
    await expect(
      stageProject(project, [{ path: 'package-lock.json' }, { path: 'packages/gone/package.json' }], {
        tmpRoot,
      }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(tmpRoot)).toEqual([]);
  });

  it('removes the staging directory when a write fails', async () => {
    // A file where a folder is needed: mkdir fails with ENOTDIR / EEXIST after the first copy.
    await expect(
      stageProject(
        project,
        [{ path: 'package-lock.json' }, { path: 'package-lock.json/package.json', text: '{}' }],
        { tmpRoot },
      ),
    ).rejects.toHaveProperty('code');
    expect(readdirSync(tmpRoot)).toEqual([]);
  });
});
