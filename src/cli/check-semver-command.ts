// `lockwarden check name@old..new`: is this minor or patch update honest? The same comparison as
// `update` and the Action, rendered as a report.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport } from '../engine/report.js';
import { LockwardenError } from '../errors.js';
import { strongestDecision } from '../policy/evaluate.js';
import type { Verdict } from '../policy/types.js';
import { resolveCacheDir } from '../sources/disk-cache.js';
import { assertValidPackageName } from '../sources/package-name.js';
import { type CliIo, formatStats, openSources, optionalInteger, resolveNow, resolvePolicy } from './main.js';
import { renderReport } from './render-report.js';

const OPTIONS = {
  policy: { type: 'string' },
  registry: { type: 'string' },
  'cache-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  stats: { type: 'boolean', default: false },
  now: { type: 'string' },
} as const;

/** `name@1.2.0..1.3.0` (also `@scope/name@...`). */
export const UPDATE_SPEC = /^(@?[^@\s]+)@([^@\s.][^@\s]*?)\.\.([^@\s.][^@\s]*)$/;

export function isUpdateSpec(arg: string): boolean {
  return UPDATE_SPEC.test(arg);
}

export async function runCheckSemver(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LockwardenError('EUSAGE', `${(err as Error).message} (lockwarden --help)`);
  }
  const { values, positionals } = parsed;
  const pairs = positionals.map((raw) => {
    const m = UPDATE_SPEC.exec(raw);
    if (!m)
      throw new LockwardenError(
        'EUSAGE',
        `"${raw}": check takes either name[@version] specs or name@old..new updates, not both at once`,
      );
    const [, name, from, to] = m as unknown as [string, string, string, string];
    assertValidPackageName(name, `"${raw}"`);
    return { name, from, to };
  });
  const dir = path.resolve(io.cwd);
  const now = resolveNow(values.now, io);
  const policy = await resolvePolicy(values.policy, dir, io.cwd);
  const timeoutMs = optionalInteger(values.timeout, '--timeout', 1, 600_000);
  const retries = optionalInteger(values.retries, '--retries', 0, 10);
  const sources = await openSources(values, dir, io, { timeoutMs, retries, needsRegistry: true });
  try {
    const { createSemverHonestyChecker } = await import('../engine/check-semver-honesty.js');
    const checker = createSemverHonestyChecker({
      policy: policy.semverHonesty === 'off' ? { ...policy, semverHonesty: 'alert' } : policy,
      sources,
      cacheDir: resolveCacheDir({
        env: io.env,
        ...(values['cache-dir'] ? { override: values['cache-dir'] } : {}),
      }),
    });
    const found = await checker.checkMany(pairs);
    const verdicts: Verdict[] = pairs.map(({ name, to }, i) => {
      const findings = found[i]!;
      return { name, version: to, decision: strongestDecision(findings), findings, notices: [] };
    });
    const report = buildReport({ verdicts, policy, now });
    if (values.stats) io.stderr.write(`${formatStats(sources)}\n`);
    if (values.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else
      io.stdout.write(
        renderReport(report, { color: io.stdout.isTTY === true && !io.env.NO_COLOR, noun: 'updates' }),
      );
    return report.exitCode;
  } finally {
    await sources.close();
  }
}
