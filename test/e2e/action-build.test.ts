// The bundle is a release artifact: it must rebuild to the same bytes and run with no
// node_modules next to it, the way the runner runs a tagged release.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runActionBundle } from '../helpers/run-action-bundle.js';

let work: string;
let first: Buffer;
let second: Buffer;

function build(outfile: string): Buffer {
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'scripts', 'build-action.mjs'), '--outfile', outfile],
    {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    },
  );
  return readFileSync(outfile);
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-build-'));
  first = build(path.join(work, 'a', 'index.js'));
  second = build(path.join(work, 'b', 'index.js'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('scripts/build-action.mjs', () => {
  it('builds the same bytes twice', () => {
    expect(first.length).toBeGreaterThan(100_000);
    expect(second.equals(first)).toBe(true);
  });

  it('leaves no machine-specific paths in the bundle', () => {
    const text = first.toString('utf8');
    expect(text).not.toContain(REPO_ROOT);
    expect(text).not.toContain(work);
  });

  it('inlines the popular-package list', () => {
    const list = JSON.parse(readFileSync(path.join(REPO_ROOT, 'data', 'popular-packages.json'), 'utf8'));
    expect(first.toString('utf8')).toContain(list.asOf);
    expect(first.toString('utf8')).not.toContain('popular-packages.json" with');
  });

  /** The first build, run on a push in an empty workspace far from any node_modules. */
  const runBuilt = (workspace: string, inputs: Record<string, string>) =>
    runActionBundle({
      bundle: path.join(work, 'a', 'index.js'),
      workspace,
      eventName: 'push',
      event: {},
      apiUrl: 'http://127.0.0.1:9/',
      inputs,
    });

  it('runs from a directory with no node_modules', async () => {
    const result = await runBuilt(mkdtempSync(path.join(work, 'ws-')), { mode: 'block' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('::error::lockwarden: input `mode`: "block" is not an override');
  });

  it('reads a YAML policy from a directory with no node_modules', async () => {
    const workspace = mkdtempSync(path.join(work, 'ws-'));
    // A policy with a mistake: the message proves the YAML was parsed (by the bundled parser).
    writeFileSync(path.join(workspace, 'lockwarden.yml'), 'id: team\ncoolingOffDays: soon\n');
    const result = await runBuilt(workspace, { policy: 'lockwarden.yml' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('Cannot find module');
    expect(result.stdout).toMatch(/::error::lockwarden: .*lockwarden\.yml: invalid policy.*coolingOffDays/);
  });
});
