// Writes a project directory (package.json + lockfileVersion 3 package-lock.json) with a flat or
// nested dependency tree, for tests and benchmarks. No `resolved` fields: nothing names a host.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LockDep {
  name: string;
  version: string;
  /** Install location; defaults to `node_modules/<name>`. */
  location?: string;
  /** Dependencies of this package (name -> range); edges to other entries. */
  dependencies?: Record<string, string>;
  dev?: boolean;
  integrity?: string;
  /** The tarball URL the entry records (most tests leave it out: nothing names a host). */
  resolved?: string;
}

export interface ProjectSpec {
  name?: string;
  /** Direct dependencies of the root (name -> range); defaults to every top-level dep. */
  rootDependencies?: Record<string, string>;
  deps: LockDep[];
}

export function makeLockfile(spec: ProjectSpec): {
  packageJson: Record<string, unknown>;
  lockfile: Record<string, unknown>;
} {
  const name = spec.name ?? 'test-app';
  const rootDependencies =
    spec.rootDependencies ??
    Object.fromEntries(
      spec.deps
        .filter((d) => (d.location ?? `node_modules/${d.name}`) === `node_modules/${d.name}` && !d.dev)
        .map((d) => [d.name, d.version]),
    );
  const devDependencies = Object.fromEntries(spec.deps.filter((d) => d.dev).map((d) => [d.name, d.version]));
  const packageJson: Record<string, unknown> = {
    name,
    version: '1.0.0',
    private: true,
    dependencies: rootDependencies,
  };
  if (Object.keys(devDependencies).length > 0) packageJson.devDependencies = devDependencies;
  const packages: Record<string, unknown> = {
    '': {
      name,
      version: '1.0.0',
      dependencies: rootDependencies,
      ...(Object.keys(devDependencies).length > 0 ? { devDependencies } : {}),
    },
  };
  for (const d of spec.deps) {
    const entry: Record<string, unknown> = { version: d.version };
    if (d.resolved) entry.resolved = d.resolved;
    if (d.integrity) entry.integrity = d.integrity;
    if (d.dev) entry.dev = true;
    if (d.dependencies) entry.dependencies = d.dependencies;
    packages[d.location ?? `node_modules/${d.name}`] = entry;
  }
  return { packageJson, lockfile: { name, version: '1.0.0', lockfileVersion: 3, requires: true, packages } };
}

/** Writes the project into `dir` (created when missing) and returns `dir`. */
export function writeProject(dir: string, spec: ProjectSpec): string {
  mkdirSync(dir, { recursive: true });
  const { packageJson, lockfile } = makeLockfile(spec);
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
  return dir;
}
