// action.yml is what the runner and the Marketplace read: its limits and its agreement with the
// inputs the code reads are checked here, not discovered at release time.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_NAMES } from '../../src/action/parse-action-inputs.js';

const metadata = parse(readFileSync(path.resolve(import.meta.dirname, '../../action.yml'), 'utf8')) as {
  description: string;
  inputs: Record<string, unknown>;
  runs: { using: string; main: string };
};

describe('action.yml', () => {
  it('has a description the Marketplace accepts (under 125 characters)', () => {
    expect(typeof metadata.description).toBe('string');
    expect(metadata.description.length).toBeGreaterThan(20);
    expect(metadata.description.length).toBeLessThan(125);
  });

  it('declares exactly the inputs the Action reads', () => {
    expect(Object.keys(metadata.inputs).sort()).toEqual([...INPUT_NAMES].sort());
  });

  it('runs the bundle on node24', () => {
    expect(metadata.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });
});
