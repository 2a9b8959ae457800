// The package specs `lockwarden check` takes: `name`, `name@latest`, `name@*` (the latest
// version) or `name@1.2.3`. npm-package-arg decides what a spec is, as npm does; it is loaded only
// for a spec that is not one of those plain shapes. Why: loading it (with hosted-git-info and its
// LRU cache, which loads perf_hooks) was ~12 ms of a cold `lockwarden check`'s start-up (CPU
// profile of npm run bench:check), for specs whose answer is known from the package name's
// validity (validate-npm-package-name, which npm-package-arg itself asks) and semver's. The
// plain shapes give the same result either way (test/unit/parse-check-specs.test.ts compares).
import type npa from 'npm-package-arg';
import semver from 'semver';
import validatePackageName from 'validate-npm-package-name';
import type { PackageRef } from '../engine/check-packages.js';
import { LockwardenError } from '../errors.js';

/**
 * A name npm-package-arg reads as a registry name with no further questions: no slash outside a
 * scope, no URL or git scheme, no `.tgz`/`.tar` ending (a file to npm), and valid to npm.
 */
const PLAIN_NAME = /^(?:@[a-z0-9][\w.~-]*\/)?[a-z0-9~][\w.~-]*$/i;
const FILE_LIKE = /[.](?:tgz|tar\.gz|tar)$/i;

/** The answer for a plain spec, or undefined when npm-package-arg must decide. */
export function plainCheckSpec(raw: string): PackageRef | undefined {
  const at = raw.indexOf('@', 1);
  const name = at > 0 ? raw.slice(0, at) : raw;
  const spec = at > 0 ? raw.slice(at + 1) : '';
  if (!PLAIN_NAME.test(name) || FILE_LIKE.test(name)) return undefined;
  if (!validatePackageName(name).validForOldPackages) return undefined;
  if (spec === '' || spec === '*' || spec === 'latest') return { name, version: null };
  // Only a version written as semver writes it; the others (`v1.2.3`, `1.2.3+build`) go through
  // npm-package-arg and fromNpa.
  if (semver.valid(spec) === spec) return { name, version: spec };
  return undefined;
}

let npaModule: Promise<typeof npa> | undefined;

export async function parseCheckSpecs(specs: readonly string[]): Promise<PackageRef[]> {
  if (specs.length === 0)
    throw new LockwardenError(
      'EUSAGE',
      'check needs at least one package name (lockwarden check express@4.21.2)',
    );
  const refs: PackageRef[] = [];
  for (const raw of specs) {
    const plain = plainCheckSpec(raw);
    if (plain) {
      refs.push(plain);
      continue;
    }
    npaModule ??= import('npm-package-arg').then((m) => m.default);
    refs.push(fromNpa(raw, await npaModule));
  }
  return refs;
}

function fromNpa(raw: string, parse: typeof npa): PackageRef {
  let parsed: npa.Result;
  try {
    parsed = parse(raw);
  } catch (err) {
    throw new LockwardenError(
      'EINVALIDNAME',
      `"${raw}" is not a valid package spec: ${(err as Error).message}`,
    );
  }
  if (parsed.type !== 'version' && parsed.type !== 'tag' && parsed.type !== 'range') {
    throw new LockwardenError('EUSAGE', `"${raw}": expected name or name@version, got a ${parsed.type} spec`);
  }
  const name = parsed.name!;
  // npm-package-arg keeps a loosely written version as given (`v1.2.3`, `=1.2.3`); the registry
  // has it as semver writes it, as npm resolves it. Build metadata, which semver drops, stays.
  if (parsed.type === 'version') {
    const loose = semver.parse(parsed.fetchSpec!, true);
    return { name, version: loose && loose.build.length === 0 ? loose.version : parsed.fetchSpec! };
  }
  if (parsed.rawSpec === '' || parsed.rawSpec === '*' || parsed.rawSpec === 'latest')
    return { name, version: null };
  throw new LockwardenError('EUSAGE', `"${raw}": give an exact version (name@1.2.3) or none for the latest`);
}
