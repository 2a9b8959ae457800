// The TypeScript compiler, loaded through require: an ESM import of its 9 MB CommonJS file first
// scans all of it for named exports, about a second on every run (bench/update-bench.ts). The
// Action's bundle swaps this module for load-typescript.bundle.ts (scripts/build-action.mjs),
// since it runs with no node_modules to require from.
import { createRequire } from 'node:module';

export function loadTypeScript(): typeof import('typescript') {
  return createRequire(import.meta.url)('typescript') as typeof import('typescript');
}

/** TypeScript's lib files by file name when they are not on disk next to the compiler; here they are. */
export function embeddedTypeScriptLibs(): ReadonlyMap<string, string> | undefined {
  return undefined;
}
