// The package manager that resolves a pnpm, yarn or bun lockfile, and the command that updates
// that lockfile only (no install, no script) against lockwarden's loopback registry. Each tool
// keeps its own resolution and lockfile format; what differs per tool is listed in the README.
import { execFile } from 'node:child_process';
import { LockwardenError } from '../errors.js';

export type PackageManager = 'pnpm' | 'yarn-classic' | 'yarn-berry' | 'bun';

export const TOOL: Record<PackageManager, string> = {
  pnpm: 'pnpm',
  'yarn-classic': 'yarn',
  'yarn-berry': 'yarn',
  bun: 'bun',
};

/** The manager a lockfile belongs to: yarn.lock is Berry's when it has a `__metadata` block. */
export function packageManagerOf(lockfileName: string, text: string): PackageManager | undefined {
  if (lockfileName === 'pnpm-lock.yaml') return 'pnpm';
  if (lockfileName === 'bun.lock') return 'bun';
  if (lockfileName === 'yarn.lock') return /^__metadata:/m.test(text) ? 'yarn-berry' : 'yarn-classic';
  return undefined;
}

export interface UpdateCommand {
  args: string[];
  /** Variables set for the run (on top of the user's environment, registry settings removed). */
  env: Record<string, string>;
  /** Files to write (mode 0600) in the run's directory first, by path relative to it. */
  files?: Record<string, string>;
}

/** Yarn 1's own rc file for the run: it names the registry, so it is not on the command line. */
const YARN_CLASSIC_RC = '.lockwarden-registry.yarnrc';

/**
 * `update [names]` (within the ranges) or `--latest` (ranges moved too), lockfile only, scripts
 * off, every registry request to `registry` (the loopback proxy). Its URL holds the proxy's
 * secret path, so it goes in the environment or a private file, never in the arguments: any user
 * of the machine can read a process's command line (/proc/<pid>/cmdline, ps), not its environment.
 * Each tool's environment outranks its project and user config files (measured with pnpm 10,
 * yarn 1.22, Yarn 4 and bun 1.4); yarn 1's `--registry` line in a project .yarnrc outranks the
 * environment, so yarn 1 gets the registry from a `--use-yarnrc` file, which outranks that.
 */
export function updateCommand(
  pm: PackageManager,
  opts: {
    names: readonly string[];
    latest: boolean;
    workspaces: boolean;
    registry: string;
    /**
     * Whether there are scoped and unscoped packages to update (Yarn Berry's `*` matches no
     * scoped name, and a pattern that matches nothing is an error): default unscoped only.
     */
    kinds?: { scoped: boolean; unscoped: boolean };
  },
): UpdateCommand {
  const { names, latest, registry } = opts;
  switch (pm) {
    case 'pnpm':
      return {
        args: [
          'update',
          ...names,
          // Within the ranges pnpm would otherwise raise each range's floor in package.json.
          ...(latest ? ['--latest'] : ['--no-save']),
          ...(opts.workspaces ? ['--recursive'] : []),
          '--lockfile-only',
          '--ignore-scripts',
        ],
        env: {
          npm_config_registry: registry,
          PNPM_CONFIG_REGISTRY: registry,
          pnpm_config_registry: registry,
        },
      };
    case 'yarn-classic':
      // Yarn 1 has no lockfile-only mode: it installs into the staged copy, scripts off.
      return {
        args: [
          'upgrade',
          ...names,
          ...(latest ? ['--latest'] : []),
          '--ignore-scripts',
          '--non-interactive',
          '--no-progress',
          '--use-yarnrc',
          YARN_CLASSIC_RC,
        ],
        env: { npm_config_registry: registry, YARN_REGISTRY: registry },
        // `--upgrade.registry` too: a project .yarnrc may set it for this command alone.
        files: {
          [YARN_CLASSIC_RC]: `--registry ${JSON.stringify(registry)}\n--upgrade.registry ${JSON.stringify(registry)}\n`,
        },
      };
    case 'yarn-berry': {
      // `up -R` resolves the packages again within their ranges wherever they are; `up` without
      // it moves the ranges in every workspace to the newest version.
      const kinds = opts.kinds ?? { scoped: false, unscoped: true };
      const patterns =
        names.length > 0
          ? [...names]
          : [...(kinds.unscoped || !kinds.scoped ? ['*'] : []), ...(kinds.scoped ? ['@*/*'] : [])];
      return {
        args: ['up', ...(latest ? [] : ['--recursive']), ...patterns, '--mode=update-lockfile'],
        env: {
          YARN_NPM_REGISTRY_SERVER: registry.replace(/\/$/, ''),
          YARN_UNSAFE_HTTP_WHITELIST: '127.0.0.1',
          YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
          // Credentials for the user's registry are never sent to the loopback proxy: not on every
          // request (npmAlwaysAuth), and not the top-level token Yarn sends for scoped packages
          // whatever npmAlwaysAuth says (measured with Yarn 4.18).
          YARN_NPM_ALWAYS_AUTH: 'false',
          YARN_NPM_AUTH_TOKEN: '',
          YARN_NPM_AUTH_IDENT: '',
          YARN_ENABLE_SCRIPTS: 'false',
          YARN_ENABLE_TELEMETRY: '0',
          YARN_ENABLE_PROGRESS_BARS: 'false',
        },
      };
    }
    case 'bun':
      return {
        args: [
          'update',
          ...names,
          ...(latest ? ['--latest'] : []),
          ...(opts.workspaces ? ['--recursive'] : []),
          '--lockfile-only',
          '--ignore-scripts',
          '--no-cache',
          '--no-summary',
          '--no-progress',
        ],
        env: { BUN_CONFIG_REGISTRY: registry, npm_config_registry: registry },
      };
  }
}

/** Registry settings of the user's environment that would send requests past the proxy. */
const REGISTRY_VARIABLES =
  /^(npm_config_|pnpm_config_|yarn_)(registry|npm_registry_server|npm_scopes|npm_registries|npm_auth_token|npm_auth_ident|rc_filename)$|^BUN_CONFIG_(REGISTRY|TOKEN)$|^YARN_REGISTRY$/i;

export function clientEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!REGISTRY_VARIABLES.test(key) && !/^(npm_config_|pnpm_config_)@[^:]+:registry$/i.test(key))
      env[key] = value;
  }
  return { ...env, ...extra };
}

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tool` (found on PATH) in `cwd`; a missing tool is a clear error naming it. */
export function runTool(
  tool: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  forLockfile: string,
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      [...args],
      { cwd, env, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(
            new LockwardenError(
              'EPACKAGEMANAGER',
              `${forLockfile}: \`lockwarden update\` resolves it with ${tool} itself, and ${tool} is not on PATH; install ${tool} (or enable corepack) and run again`,
            ),
          );
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * Yarn on PATH must be the generation the lockfile was written by: Berry would rewrite a Yarn 1
 * lockfile in its own format, and Yarn 1 cannot read Berry's.
 */
export async function checkYarnGeneration(
  pm: PackageManager,
  cwd: string,
  env: NodeJS.ProcessEnv,
  lockfile: string,
): Promise<void> {
  if (pm !== 'yarn-classic' && pm !== 'yarn-berry') return;
  const run = await runTool('yarn', ['--version'], cwd, env, lockfile);
  const version = run.stdout.trim();
  const classic = version.startsWith('1.');
  if (run.code !== 0 || (pm === 'yarn-berry') === classic) {
    throw new LockwardenError(
      'EPACKAGEMANAGER',
      `${lockfile} is ${pm === 'yarn-berry' ? 'Yarn Berry’s (v2+)' : 'Yarn 1’s'}, but \`yarn\` in ${cwd.includes('lockwarden-update-') ? 'the project' : cwd} is ${run.code === 0 ? version : `failing (${run.stderr.trim().split('\n')[0]})`}; run update with the yarn the project uses (packageManager with corepack, or yarnPath in .yarnrc.yml)`,
    );
  }
}
