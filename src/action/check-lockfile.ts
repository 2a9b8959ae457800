// One lockfile of the Action's run: which entries to check (all of them, or those a pull request
// adds or changes against the base commit), and the report of checking them, inline or through the
// service.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { markBundlesUnread, mayBundle } from '../engine/judge-lockfile-bundles.js';
import { judgeLockfileSources } from '../engine/judge-lockfile-sources.js';
import { buildReport, type Report } from '../engine/report.js';
import { runAudit } from '../engine/run-audit.js';
import { LockwardenError } from '../errors.js';
import { diffInventories } from '../lockfile/diff-lockfiles.js';
import type { LockfileEntry, LockfileInventory, SkippedEntry } from '../lockfile/lockfile-inventory.js';
import { readLockfile, readLockfileText, workspaceFolders } from '../lockfile/read-lockfile.js';
import type { Policy } from '../policy/types.js';
import { TOOL_VERSION } from '../version.js';
import { checkWithService } from './check-with-service.js';
import { describeLockfileChanges, type LockfileChanges } from './describe-lockfile-changes.js';
import type { GitHubApi } from './github-api.js';
import { rebaseFinding, rebaseSkipped } from './merge-reports.js';
import { type BaseFile, listBaseFiles, readBaseFile } from './read-base-file.js';
import { readBaseWorkspaces } from './read-base-workspaces.js';
import { assertInsideRepository, joinRepoPath, readRepositoryText } from './repository-path.js';

import type { InlineEngine, RunActionInput } from './run-action.js';

const entryKey = (e: { name: string; version: string }) => `${e.name}@${e.version}`;

export interface LockfilePlan {
  /** Repository-relative lockfile path. */
  file: string;
  /** Repository-relative directory of the lockfile. */
  dir: string;
  inventory: LockfileInventory;
  /** Entries to check (all, or those added or changed against the base). */
  filter?: (e: LockfileEntry) => boolean;
  changes?: LockfileChanges;
  /** Entries the pull request adds that are not registry packages (never checked, so listed). */
  skippedAdded?: SkippedEntry[];
}

export interface BaseCommit {
  sha: string;
  commitPresent: boolean;
  api?: GitHubApi;
  /** `scope: changed`: only entries added or changed against it are checked. */
  filter: boolean;
}

function baseAt(input: RunActionInput, base: BaseCommit) {
  return {
    workspace: input.environment.workspace,
    sha: base.sha,
    commitPresent: base.commitPresent,
    ...(base.api ? { api: base.api } : {}),
  };
}

export function baseReader(input: RunActionInput, base: BaseCommit): (file: string) => Promise<BaseFile> {
  return (file) => readBaseFile({ ...baseAt(input, base), path: file });
}

/**
 * Everything the lockfile reader opens in the checkout (the lockfile, the package.json beside it,
 * each workspace's) must resolve inside the repository; see repository-path.ts.
 */
async function assertProjectInsideRepository(workspace: string, file: string): Promise<void> {
  await assertInsideRepository(workspace, file);
  const dir = path.posix.dirname(file);
  await assertInsideRepository(workspace, joinRepoPath(dir, 'package.json'));
  // Read once more for its folder list only: the reader may not open anything outside either.
  const text = await readRepositoryText(workspace, file);
  if (text === undefined) return;
  for (const folder of workspaceFolders(text)) {
    const folderPath = path.posix.normalize(joinRepoPath(dir, folder));
    await assertInsideRepository(workspace, folderPath);
    await assertInsideRepository(workspace, `${folderPath}/package.json`);
  }
}

export async function planLockfile(
  file: string,
  input: RunActionInput,
  base: BaseCommit | undefined,
): Promise<LockfilePlan> {
  const dir = path.posix.dirname(file);
  const absDir = path.resolve(input.environment.workspace, dir);
  await assertProjectInsideRepository(input.environment.workspace, file);
  const inventory = await readLockfile(absDir, {
    lockfile: path.posix.basename(file),
    ...(input.environment.cacheDir ? { cacheDir: input.environment.cacheDir } : {}),
  });
  if (!base) return { file, dir, inventory };

  const read = baseReader(input, base);
  let baseInventory: LockfileInventory | null = null;
  let newFile = false;
  try {
    const baseLock = await read(file);
    input.log?.(`base ${file}: ${baseLock.found ? `read via ${baseLock.via}` : 'absent (new lockfile)'}`);
    newFile = !baseLock.found;
    if (
      baseLock.found &&
      baseLock.text === (await readFile(path.resolve(absDir, path.posix.basename(file)), 'utf8'))
    ) {
      // Most pull requests leave the lockfile alone: nothing changed, no second tree to load.
      baseInventory = inventory;
    } else if (baseLock.found) {
      const basePackageJson = await read(joinRepoPath(dir, 'package.json'));
      const packageJsonText = basePackageJson.found ? basePackageJson.text : undefined;
      const workspaces = await readBaseWorkspaces({
        lockfileText: baseLock.text,
        file,
        dir,
        packageJsonText,
        read,
        list: () => listBaseFiles({ ...baseAt(input, base), dir }),
      });
      inventory.warnings.push(...workspaces.warnings);
      baseInventory = await readLockfileText(
        baseLock.text,
        packageJsonText,
        path.posix.basename(file),
        workspaces.manifests,
      );
    }
  } catch (err) {
    // With `scope: all` the change list is a courtesy: the run goes on without it.
    if (base.filter && !newFile && !(err instanceof LockwardenError && err.code === 'ELOCKFILE')) throw err;
    // A broken base lockfile must not hide the head's problems: every entry counts as changed.
    input.log?.(
      `${file} at the base commit cannot be read (${(err as Error).message}); treating every entry as changed`,
    );
  }
  const diff = diffInventories(baseInventory, inventory);
  const changes = describeLockfileChanges(file, diff, newFile);
  const skippedAdded = diff.skippedAdded;
  if (!base.filter) return { file, dir, inventory, changes, skippedAdded };
  const changed = new Set(
    [...diff.added, ...diff.updated.map((u) => u.to), ...diff.sourceChanged.map((c) => c.to)].map(entryKey),
  );
  return { file, dir, inventory, filter: (e) => changed.has(entryKey(e)), changes, skippedAdded };
}

export async function checkLockfile(
  plan: LockfilePlan,
  input: RunActionInput,
  engine: () => Promise<InlineEngine>,
  /** Inline mode's policy (service mode uses the service's). */
  policy: Policy | undefined,
  sourcesOf: {
    /** Service mode: the registry installs are configured with, for the lockfile-source rule. */
    serviceRegistry: () => Promise<string | undefined>;
    /**
     * npm's `replace-registry-host` settings that must all rewrite a URL for it to pass (none:
     * npm's default), for the lockfile-source rule.
     */
    npmRewrite: () => Promise<readonly string[]>;
  },
): Promise<Report> {
  const { serviceRegistry, npmRewrite } = sourcesOf;
  const { inputs, now } = input;
  let report: Report;
  // semver-honesty judges what the change moved: each updated entry against its old version.
  const updates = (plan.changes?.updated ?? []).flatMap((u) =>
    u.from.map((from) => ({ name: u.name, from, to: u.to })),
  );
  if (inputs.service) {
    const entries = plan.filter ? plan.inventory.entries.filter(plan.filter) : plan.inventory.entries;
    const answer = await checkWithService({
      url: inputs.service.url,
      ...(inputs.service.token ? { token: inputs.service.token } : {}),
      policyId: inputs.service.policyId,
      ...(inputs.mode ? { mode: inputs.mode } : {}),
      packages: entries.map((e) => ({
        name: e.name,
        version: e.version,
        ...(mayBundle(e) ? { bundlesUnlisted: true } : {}),
      })),
      updates,
      userAgent: `lockwarden-action/${TOOL_VERSION}${input.event.repository ? ` (${input.event.repository.owner}/${input.event.repository.repo}${input.event.pullNumber ? `#${input.event.pullNumber}` : ''})` : ''}`,
    });
    // The dry run is decided by the service's engine (the policy with `action: alert`), not
    // re-decided here; a service that ignored the request must not turn a dry run into a gate.
    if (inputs.mode === 'alert' && answer.policy.action !== 'alert') {
      throw new LockwardenError(
        'ESERVICE',
        `the service at ${inputs.service.url} evaluated policy "${answer.policy.id}" with action ${answer.policy.action} although a dry run (input \`mode: alert\`) was asked for; upgrade the service`,
      );
    }
    // A service that predates the `bundles` flag judged the flagged entries by name and version
    // only: what a bundler carries is unknown, never a silent pass (unavailableFinding).
    const judged = answer.bundlesIgnored
      ? await markBundlesUnread(
          answer.verdicts,
          entries.map(mayBundle),
          await engine().then(
            ({ sources }) => sources.registry,
            () => undefined,
          ),
          answer.policy,
          {
            source: 'service',
            reason: `the service at ${inputs.service.url} did not read what it bundles (it predates that)`,
            hint: `upgrade the service at ${inputs.service.url}, or run the Action inline`,
          },
        )
      : answer.verdicts;
    // The service judges names and versions; where the lockfile fetches them from is judged here,
    // under the service policy's rule and against the registry inline mode would use (a project
    // installing through the service's proxy configures the proxy as its registry).
    const configured = await serviceRegistry();
    const verdicts = judgeLockfileSources(
      judged,
      entries,
      {
        id: answer.policy.id,
        action: answer.policy.action,
        // A service that predates the rule says nothing: its default (on, no extra registries).
        lockfileSource: answer.policy.lockfileSource ?? true,
        registries: answer.policy.registries ?? [],
      },
      configured === undefined ? [] : [configured],
      await npmRewrite(),
    );
    report = buildReport({
      verdicts,
      policy: answer.policy,
      now,
      entries,
      skipped: plan.inventory.skipped,
      warnings: [
        ...plan.inventory.warnings,
        ...(answer.updatesIgnored
          ? [
              `the service at ${inputs.service.url} did not check the updated entries for semver honesty (it predates it); upgrade the service`,
            ]
          : []),
        ...(answer.bundlesIgnored
          ? [
              `the service at ${inputs.service.url} did not read what this lockfile's entries bundle (it predates it), so the entries that declare bundled dependencies are unavailable; upgrade the service`,
            ]
          : []),
      ],
    });
  } else {
    const { sources, popular } = await engine();
    const npmReplaceRegistryHost = await npmRewrite();
    ({ report } = await runAudit({
      dir: path.resolve(input.environment.workspace, plan.dir),
      lockfile: path.posix.basename(plan.file),
      inventory: plan.inventory,
      policy: policy!,
      sources,
      popular,
      now,
      ...(plan.filter ? { filter: plan.filter } : {}),
      ...(npmReplaceRegistryHost.length === 0 ? {} : { npmReplaceRegistryHost }),
      updates,
    }));
  }
  // `scope: changed` lists the skipped entries the change brings, whatever their name: a new git
  // dependency has no registry entry to be "changed" alongside.
  const skipped = plan.filter ? (plan.skippedAdded ?? []) : plan.inventory.skipped;
  return {
    ...report,
    summary: { ...report.summary, skipped: skipped.length },
    findings: report.findings.map((f) => rebaseFinding(f, plan.dir)),
    skipped: skipped.map((s) => rebaseSkipped(s, plan.dir)),
  };
}
