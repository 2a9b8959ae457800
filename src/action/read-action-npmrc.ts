// The project `.npmrc` an inline run uses. npm's configuration decides where facts come from and
// which credentials go where (registry, `@scope:registry`, `//host/:_authToken`, `ca`, `strict-ssl`),
// so on a pull request it is read at the base commit, as the policy is: a pull request that points
// the registry at a host of its choosing (one that says every version is years old, or that
// collects the token it is sent) must not be able to do so in the change it is checked in.
// The `registry` input and the runner's own user and global npmrc are not in the repository and
// stay trusted.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ini from 'ini';
import type { BaseFile } from './read-base-file.js';
import { readRepositoryText } from './repository-path.js';

export interface ProjectNpmrc {
  /** The text npm's loader takes as the project config; null: the project has none. */
  config: { text: string; origin: string } | null;
  /** Set when the pull request adds, changes or removes the file. */
  notice?: { level: 'warning'; file: string; message: string };
  /**
   * The pull request's own text (null: it removes the file), when it differs from the base's.
   * Untrusted: only ever used to be stricter (what the pull request's own install would do).
   */
  head?: string | null;
}

export interface ReadActionNpmrcOptions {
  workspace: string;
  /** Repository-relative directory npm runs in (`working-directory`). */
  workingDirectory: string;
  /** Reads a repository-relative file at the base commit; set on pull requests and merge groups. */
  readBase?: (file: string) => Promise<BaseFile>;
  /** Short name of the base commit for messages. */
  baseLabel?: string;
  log?: (message: string) => void;
}

const WHAT =
  'it sets where facts come from and which credentials go where (registry, @scope:registry, auth, ca, strict-ssl)';

export async function readActionNpmrc(opts: ReadActionNpmrcOptions): Promise<ProjectNpmrc> {
  const file = opts.workingDirectory === '.' ? '.npmrc' : `${opts.workingDirectory}/.npmrc`;
  const head = await readRepositoryText(opts.workspace, file);
  if (!opts.readBase) {
    return { config: head === undefined ? null : { text: head, origin: file } };
  }
  const at = opts.baseLabel ? `the base commit ${opts.baseLabel}` : 'the base commit';
  const base = await opts.readBase(file);
  opts.log?.(`npm configuration: ${file} at ${at} ${base.found ? `(read via ${base.via})` : '(none)'}`);
  const baseText = base.found ? base.text : undefined;
  const config =
    baseText === undefined
      ? null
      : { text: await pinFilesToBase(baseText, opts, at), origin: `${file} at ${at}` };
  if (head === baseText) return { config };
  const what =
    head === undefined
      ? `${file} is removed in this pull request; the one at ${at} was used`
      : baseText === undefined
        ? `${file} is new in this pull request and was not used (${at} has none)`
        : `${file} changed in this pull request; the one at ${at} was used`;
  return {
    config,
    head: head ?? null,
    notice: {
      level: 'warning',
      file,
      message: `${what}, because ${WHAT}; the change applies after merge`,
    },
  };
}

// Keys whose value names a file npm then reads. The base commit's `.npmrc` is trusted, but a
// relative (or workspace) path in it points into the pull request's checkout: `cafile=certs/ca.pem`
// would take the CA the pull request commits, `userconfig=.npmrc.ci` its registry and tokens.
const FILE_KEYS = ['cafile', 'userconfig', 'globalconfig'] as const;

/**
 * The base `.npmrc` with every file it names inside the repository read at the base commit too:
 * `cafile` is copied to a temporary file and pointed there; `userconfig`/`globalconfig` inside the
 * repository are dropped (npm would layer the pull request's copy over the runner's own config).
 */
async function pinFilesToBase(text: string, opts: ReadActionNpmrcOptions, at: string): Promise<string> {
  const parsed = ini.parse(text) as Record<string, unknown>;
  const workspace = path.resolve(opts.workspace);
  const replacements = new Map<string, string | undefined>();
  for (const key of FILE_KEYS) {
    const value = parsed[key];
    if (typeof value !== 'string' || value === '' || /^~[/\\]/.test(value) || value.includes('${')) continue;
    // npm resolves these against the directory it runs in, which is the workspace here.
    const relative = path.relative(workspace, path.resolve(workspace, value));
    if (relative.startsWith('..') || path.isAbsolute(relative)) continue;
    const repoPath = relative.split(path.sep).join('/');
    if (key !== 'cafile') {
      opts.log?.(`npm configuration: ${key}=${repoPath} at ${at} names a file in the repository; ignored`);
      replacements.set(key, undefined);
      continue;
    }
    const ca = await opts.readBase!(repoPath);
    if (!ca.found) {
      opts.log?.(`npm configuration: cafile ${repoPath} is not in ${at}; ignored`);
      replacements.set(key, undefined);
      continue;
    }
    const dir = await mkdtemp(path.join(process.env.RUNNER_TEMP || tmpdir(), 'lockwarden-ca-'));
    const copy = path.join(dir, 'ca.pem');
    await writeFile(copy, ca.text, { mode: 0o600 });
    opts.log?.(`npm configuration: cafile ${repoPath} read at ${at}`);
    replacements.set(key, copy);
  }
  if (replacements.size === 0) return text;
  const kept = text.split(/\r?\n/).filter((line) => {
    const m = /^\s*"?([A-Za-z]+)"?\s*=/.exec(line);
    return !(m && replacements.has(m[1]!));
  });
  for (const [key, value] of replacements) if (value !== undefined) kept.push(`${key}=${value}`);
  return `${kept.join('\n')}\n`;
}

const REWRITE_KEY = 'replace-registry-host';

/**
 * What the pull request's own `.npmrc` sets npm's `replace-registry-host` to, for its own install:
 * undefined when it does not set it. npm expands `${VAR}` and `${VAR?}` in keys and takes `key[]=`
 * as a list, so `replace-registry-host${UNSET?}=never` and `replace-registry-host[]=never` both
 * set it (npm 11 prints `never` for each), which a plain ini parse sees as another key or a list.
 * The file is untrusted and only ever narrows what passes: any such form (alone or beside a plain
 * key), a list or a value that is no string is taken as `never`, the narrowest, whatever the
 * runner's environment would expand a `${VAR}` key to (the install's environment may differ). Only
 * a single plain `replace-registry-host=<value>` gives its value (npm's loader expands its `${VAR}`).
 */
export function pullRequestReplaceRegistryHost(text: string): string | undefined {
  // ini keeps each key as written, but folds `key[]` lines into a list under `key`.
  const parsed = ini.parse(text) as Record<string, unknown>;
  const keys = Object.keys(parsed).filter(
    (k) => k.replace(/\$\{[^}]*\}/g, '').replace(/\[\]$/, '') === REWRITE_KEY,
  );
  if (keys.length === 0) return undefined;
  const value = parsed[REWRITE_KEY];
  if (keys.length === 1 && keys[0] === REWRITE_KEY && typeof value === 'string') return value;
  return 'never';
}
