// A recording fake of the `@actions/core` slice the Action uses: every call kept in order, the
// job summaries collected, inputs from a plain record.
import type { ActionCore } from '../../src/action/main.js';

export interface CoreCall {
  fn: string;
  args: unknown[];
}

export function createRecordingCore(inputs: Record<string, string>, opts: { summaryFails?: boolean } = {}) {
  const calls: CoreCall[] = [];
  const summaries: string[] = [];
  const record =
    (fn: string) =>
    (...args: unknown[]) => {
      calls.push({ fn, args });
    };
  const core: ActionCore = {
    getInput: (name) => inputs[name] ?? '',
    setOutput: record('setOutput'),
    setFailed: record('setFailed'),
    setSecret: record('setSecret'),
    error: record('error'),
    warning: record('warning'),
    notice: record('notice'),
    info: record('info'),
    debug: record('debug'),
    writeSummary: async (markdown) => {
      if (opts.summaryFails) throw new Error('GITHUB_STEP_SUMMARY is not set');
      summaries.push(markdown);
    },
  };
  const of = (fn: string) => calls.filter((c) => c.fn === fn).map((c) => c.args);
  return {
    core,
    calls,
    summaries,
    of,
    outputs: () => Object.fromEntries(of('setOutput') as [string, string][]),
  };
}
