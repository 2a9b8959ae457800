// Why the project's own package manager failed during an update, in the policy's terms: facts
// that could not be had, the versions the policy held back from a range, or the tool's own output.
import { LockwardenError } from '../errors.js';
import { describeSkip } from '../policy/update-candidates.js';
import { type PackageManager, TOOL } from './package-manager-commands.js';
import type { PolicyPackumentCache } from './policy-packument-cache.js';

export function explainToolFailure(
  pm: PackageManager,
  run: { code: number; stdout: string; stderr: string },
  cache: PolicyPackumentCache,
  proxyFailures: string[],
  now: Date,
  lockfile: string,
): LockwardenError {
  const output = `${run.stderr}\n${run.stdout}`.trim();
  const tail = output.split('\n').slice(-12).join('\n');
  const failures = [...cache.failures().values()];
  if (failures.length > 0 || proxyFailures.length > 0) {
    const what = [...failures.map((f) => `the packument of ${f.packageName}: ${f.reason}`), ...proxyFailures];
    return new LockwardenError(
      failures.some((f) => f.notFound) && proxyFailures.length === 0 ? 'ELOCKFILE' : 'EUNAVAILABLE',
      `cannot update ${lockfile}: ${[...new Set(what)].slice(0, 5).join('; ')}; nothing was written`,
    );
  }
  // No allowed version for a range: say what the policy held back, as npm's update does.
  const held = [...cache.decisions().values()]
    .filter((d) => d.hidden.size > 0 && output.includes(d.name))
    .flatMap((d) => [...d.hidden].slice(-3).map(([v, f]) => `${d.name}@${v}: ${describeSkip(f, now)}`));
  if (held.length > 0) {
    return new LockwardenError(
      'EBLOCKED',
      `${TOOL[pm]} found no allowed version for a range (exit ${run.code}):\n${tail}\nThe policy held back:\n  ${held.join('\n  ')}\nWiden the range, wait, or add an allow entry with a reason; nothing was written`,
    );
  }
  return new LockwardenError(
    'EPACKAGEMANAGER',
    `${TOOL[pm]} failed on ${lockfile} (exit ${run.code}); nothing was written:\n${tail}`,
  );
}
