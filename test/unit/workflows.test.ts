// The workflows are code that holds tokens: their shape is checked here, not discovered on GitHub.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown[]> };
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const read = (name: string) =>
  parse(readFileSync(path.resolve(import.meta.dirname, '../../.github/workflows', name), 'utf8')) as Workflow;
const ci = read('ci.yml');
const release = read('release.yml');
/** Any command that could run the project's or a dependency's code. */
const RUNS_PROJECT_CODE = /\b(?:npm|npx|node|pnpm|yarn|bun|bunx|corepack|make)\b|\.\/|scripts\//;

describe('workflows', () => {
  it.each([
    ['ci.yml', ci],
    ['release.yml', release],
  ])('%s pins every action by commit', (_name, workflow) => {
    for (const job of Object.values(workflow.jobs))
      for (const step of job.steps)
        if (step.uses && !step.uses.startsWith('./'))
          expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
  });

  it('CI installs without scripts and tests on Node 20 and 24', () => {
    const test = ci.jobs.test!;
    expect(test.strategy?.matrix?.node).toEqual([20, 24]);
    const installs = test.steps.filter((s) => /\bnpm (?:ci|install)\b/.test(s.run ?? ''));
    expect(installs.map((s) => s.run)).toEqual(['npm ci --ignore-scripts']);
    expect(test.steps.some((s) => s.run === 'npm test')).toBe(true);
  });

  it('release builds with a read-only token and publishes without running project code', () => {
    expect(release.permissions).toEqual({});
    const build = release.jobs.build!;
    const publish = release.jobs.publish!;
    expect(build.permissions).toEqual({ contents: 'read' });
    expect(build.steps.some((s) => s.run === 'npm test')).toBe(true);
    expect(publish.needs).toBe('build');
    expect(publish.permissions).toEqual({ contents: 'write', 'id-token': 'write', attestations: 'write' });
    for (const step of publish.steps) {
      if (step.run) expect(step.run).not.toMatch(RUNS_PROJECT_CODE);
      if (step.uses)
        expect(step.uses).toMatch(/^actions\/(?:checkout|download-artifact|attest-build-provenance)@/);
    }
    for (const job of [build, publish]) {
      const checkout = job.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
      expect(checkout?.with?.['persist-credentials']).toBe(false);
    }
    const attest = publish.steps.find((s) => s.uses?.startsWith('actions/attest-build-provenance@'));
    expect(attest?.with?.['subject-path']).toBe('dist/index.js');
  });
});
