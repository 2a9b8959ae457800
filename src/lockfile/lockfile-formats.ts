// Which lockfiles a project has, and which reader each one needs. npm's (read through Arborist
// in read-lockfile.ts) come first; pnpm, yarn and bun lockfiles have readers of their own.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { LockfileInventory } from './lockfile-inventory.js';
import { type FormatInput, lockfileError } from './project-files.js';

export type LockfileFormat = 'npm' | 'pnpm' | 'yarn' | 'bun';

/** In the order they are reported; npm reads the shrinkwrap instead of package-lock.json. */
export const LOCKFILE_NAMES = [
  'npm-shrinkwrap.json',
  'package-lock.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'bun.lock',
] as const;

const FORMATS: Record<string, LockfileFormat> = {
  'npm-shrinkwrap.json': 'npm',
  'package-lock.json': 'npm',
  'pnpm-lock.yaml': 'pnpm',
  'yarn.lock': 'yarn',
  'bun.lock': 'bun',
  'bun.lockb': 'bun',
};

/** The format a lockfile's name says; other names are read as npm lockfiles (a renamed copy). */
export function lockfileFormat(file: string): LockfileFormat {
  return FORMATS[path.posix.basename(file.split(path.sep).join('/'))] ?? 'npm';
}

export function isKnownLockfileName(file: string): boolean {
  return path.posix.basename(file) in FORMATS;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Every lockfile in `dir`, by name. A shrinkwrap hides package-lock.json (npm reads only the
 * shrinkwrap); a lone binary `bun.lockb` is listed so that reading it explains what to do.
 */
export async function detectLockfiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of LOCKFILE_NAMES) {
    if (name === 'package-lock.json' && found.includes('npm-shrinkwrap.json')) continue;
    if (await isFile(path.join(dir, name))) found.push(name);
  }
  if (!found.includes('bun.lock') && (await isFile(path.join(dir, 'bun.lockb')))) found.push('bun.lockb');
  return found;
}

export async function readFormat(
  format: Exclude<LockfileFormat, 'npm'>,
  input: FormatInput,
): Promise<LockfileInventory> {
  try {
    switch (format) {
      case 'pnpm':
        return await (await import('./read-pnpm-lockfile.js')).readPnpmLockfile(input);
      case 'yarn':
        return await (await import('./read-yarn-lockfile.js')).readYarnLockfile(input);
      case 'bun':
        return await (await import('./read-bun-lockfile.js')).readBunLockfile(input);
    }
  } catch (err) {
    // The parsers (js-yaml, jsonc-parser, yarn's) recurse per level of nesting: a lockfile a pull
    // request made deep enough overflows the stack, which is the file's fault, not a crash.
    if (err instanceof RangeError && /call stack/i.test(err.message))
      throw lockfileError(
        input.display,
        'nested too deeply to read (not a lockfile a package manager wrote)',
      );
    throw err;
  }
}

/**
 * Workspace folders a pnpm, yarn Berry or bun lockfile names (pnpm importers, Berry `workspace:`
 * resolutions, bun's `workspaces` keys), for callers that fetch their package.json files (the
 * Action at the base commit) or check where they lead. Yarn classic names none.
 */
export function otherFormatWorkspaceFolders(text: string): string[] {
  const folders = new Set<string>();
  const importers = /^importers:\r?\n([\s\S]*?)(?=^\S|(?![\s\S]))/m.exec(text)?.[1];
  for (const m of importers?.matchAll(/^ {2}'?([^\s'][^']*?)'?:\s*$/gm) ?? []) folders.add(m[1]!);
  for (const m of text.matchAll(/^ {2}resolution: "(?:@[^/"]+\/)?[^@"]+@workspace:([^"]+)"\s*$/gm)) {
    folders.add(m[1]!);
  }
  const bun = /"workspaces"\s*:\s*\{/.exec(text);
  if (bun) {
    const rest = text.slice(bun.index);
    const end = rest.indexOf('"packages"');
    for (const m of (end === -1 ? rest : rest.slice(0, end)).matchAll(/^ {4}"([^"]*)"\s*:\s*\{/gm)) {
      folders.add(m[1]!);
    }
  }
  folders.delete('.');
  folders.delete('');
  return [...folders].sort();
}
