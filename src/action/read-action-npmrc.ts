// The project `.npmrc` an inline run uses. npm's configuration decides where facts come from and
// which credentials go where (registry, `@scope:registry`, `//host/:_authToken`, `ca`, `strict-ssl`),
// so on a pull request it is read at the base commit, as the policy is: a pull request that points
// the registry at a host of its choosing (one that says every version is years old, or that
// collects the token it is sent) must not be able to do so in the change it is checked in.
// The `registry` input and the runner's own user and global npmrc are not in the repository and
// stay trusted.
import type { BaseFile } from './read-base-file.js';
import { readRepositoryText } from './repository-path.js';

export interface ProjectNpmrc {
  /** The text npm's loader takes as the project config; null: the project has none. */
  config: { text: string; origin: string } | null;
  /** Set when the pull request adds, changes or removes the file. */
  notice?: { level: 'warning'; file: string; message: string };
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
  const config = base.found ? { text: base.text, origin: `${file} at ${at}` } : null;
  const baseText = base.found ? base.text : undefined;
  if (head === baseText) return { config };
  const what =
    head === undefined
      ? `${file} is removed in this pull request; the one at ${at} was used`
      : baseText === undefined
        ? `${file} is new in this pull request and was not used (${at} has none)`
        : `${file} changed in this pull request; the one at ${at} was used`;
  return {
    config,
    notice: {
      level: 'warning',
      file,
      message: `${what}, because ${WHAT}; the change applies after merge`,
    },
  };
}
