import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The fake registry and packument builders from test/helpers, compiled once with esbuild. */
export async function loadHelpers() {
  const esbuild = await import('esbuild');
  // Inside the project so the bundle's bare imports (semver) resolve from node_modules.
  const outfile = join(root, 'node_modules', '.cache', `lockwarden-bench-helpers-${process.pid}.mjs`);
  await esbuild.build({
    stdin: {
      contents:
        "export * from './test/helpers/fake-registry.ts'; export * from './test/helpers/make-packument.ts';",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  const helpers = await import(pathToFileURL(outfile).href);
  const undici = await import('undici');
  await rm(outfile, { force: true });
  return { helpers, undici };
}
