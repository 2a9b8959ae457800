// The Action without `@actions/core`: inputs and environment in, the decided result out (report,
// outcome, annotations, summary, outputs). `main.ts` renders it; tests call it directly.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSbom } from '../engine/build-sbom.js';
import { judgeLockfileSources } from '../engine/judge-lockfile-sources.js';
import { buildReport, groupUnavailable, type Report, type ReportFinding } from '../engine/report.js';
import { runAudit } from '../engine/run-audit.js';
import { LockwardenError } from '../errors.js';
import { diffInventories } from '../lockfile/diff-lockfiles.js';
import { detectLockfiles, LOCKFILE_NAMES } from '../lockfile/lockfile-formats.js';
import type { LockfileEntry, LockfileInventory, SkippedEntry } from '../lockfile/lockfile-inventory.js';
import { readLockfile, readLockfileText, workspaceFolders } from '../lockfile/read-lockfile.js';
import type { Policy, PopularIndex } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { TOOL_VERSION } from '../version.js';
import { applyModeToPolicy } from './apply-mode.js';
import { buildSarif } from './build-sarif.js';
import { checkWithService } from './check-with-service.js';
import { type ActionOutcome, decideOutcome } from './decide-outcome.js';
import { describeLockfileChanges, type LockfileChanges } from './describe-lockfile-changes.js';
import { createGitHubApi, type GitHubApi } from './github-api.js';
import type { ActionInputs } from './parse-action-inputs.js';
import type { EventContext } from './parse-event-context.js';
import { readActionNpmrc } from './read-action-npmrc.js';
import { type ActionPolicy, readActionPolicy } from './read-action-policy.js';
import { type BaseFile, hasCommit, listBaseFiles, readBaseFile } from './read-base-file.js';
import { readBaseWorkspaces } from './read-base-workspaces.js';
import { renderComment, renderSummary, STICKY_COMMENT_MARKER, type SummaryInput } from './render-summary.js';
import { assertInsideRepository, readRepositoryText } from './repository-path.js';
import { type Annotation, selectAnnotations, selectSkippedAnnotations } from './select-annotations.js';

export interface ActionEnvironment {
  /** `GITHUB_WORKSPACE`: the checkout; every input path is relative to it. */
  workspace: string;
  /** `RUNNER_TEMP`: where the JSON report goes. */
  tempDir: string;
  /** `GITHUB_API_URL`. */
  apiUrl: string;
  /** lockwarden's cache (`LOCKWARDEN_CACHE_DIR`): facts and lockfile inventories across runs. */
  cacheDir?: string;
  /** `GITHUB_SERVER_URL` and the Action's own `owner/repo`, for the SARIF tool's home page. */
  serverUrl?: string;
  actionRepository?: string;
}

/** Fact sources for inline mode, created only when inline mode runs. */
export interface InlineEngine {
  sources: Sources;
  popular: PopularIndex;
}

export interface EngineSettings {
  /** The project `.npmrc` (on a pull request: the base commit's), or null for none. */
  projectNpmrc: { text: string; origin: string } | null;
}

export interface RunActionInput {
  inputs: ActionInputs;
  event: EventContext;
  environment: ActionEnvironment;
  now: Date;
  /**
   * Creates the sources (inline mode only); the caller closes them. `settings` carries what the
   * repository contributes to npm's configuration, read where the run trusts it.
   */
  createEngine: (inputs: ActionInputs, settings: EngineSettings) => Promise<InlineEngine>;
  /**
   * Service mode: the registry installs fetch from, as inline mode's sources would resolve it (the
   * `registry` input, else npm's configuration with `settings`), for the lockfile-source rule.
   * Defaults to the `registry` input alone.
   */
  configuredRegistry?: (inputs: ActionInputs, settings: EngineSettings) => Promise<string | undefined>;
  log?: (message: string) => void;
}

export interface ActionResult {
  report: Report;
  outcome: ActionOutcome;
  annotations: Annotation[];
  summary: string;
  changes: LockfileChanges[];
  outputs: Record<'blocked' | 'alerts' | 'unavailable' | 'checked' | 'report', string> & {
    sarif?: string;
    sbom?: string;
  };
  /** Problems that do not change the verdict (the PR comment could not be posted). */
  warnings: string[];
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** `a/b` + `package-lock.json` → `a/b/package-lock.json`; `.` + x → x. */
function joinRepoPath(dir: string, file: string): string {
  return dir === '.' ? file : `${dir}/${file}`;
}

/** Locations from a lockfile read in its own directory, made repository-relative for annotations. */
function rebaseFinding(f: ReportFinding, dir: string): ReportFinding {
  if (!f.locations || dir === '.') return f;
  return { ...f, locations: f.locations.map((l) => ({ ...l, file: joinRepoPath(dir, toPosix(l.file)) })) };
}

function rebaseSkipped(s: SkippedEntry, dir: string): SkippedEntry {
  if (!s.location || dir === '.') return s;
  return { ...s, location: { ...s.location, file: joinRepoPath(dir, toPosix(s.location.file)) } };
}

/** One report for several lockfiles (a monorepo): counts add up, the worst exit code wins. */
export function mergeReports(reports: readonly Report[]): Report {
  const [first, ...rest] = reports;
  if (!first) throw new Error('mergeReports needs at least one report');
  if (rest.length === 0) return first;
  const merged: Report = {
    ...first,
    summary: { ...first.summary },
    findings: [...first.findings],
    notices: [...first.notices],
    skipped: [...first.skipped],
    warnings: [...first.warnings],
  };
  for (const r of rest) {
    for (const key of Object.keys(merged.summary) as (keyof Report['summary'])[])
      merged.summary[key] += r.summary[key];
    merged.findings.push(...r.findings);
    merged.notices.push(...r.notices);
    merged.skipped.push(...r.skipped);
    merged.warnings.push(...r.warnings);
    if (r.exitCode === 1 || (r.exitCode === 3 && merged.exitCode === 0)) merged.exitCode = r.exitCode;
  }
  merged.unavailable = groupUnavailable(merged.findings);
  return merged;
}

const entryKey = (e: { name: string; version: string }) => `${e.name}@${e.version}`;

interface LockfilePlan {
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

interface BaseCommit {
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

function baseReader(input: RunActionInput, base: BaseCommit): (file: string) => Promise<BaseFile> {
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

async function planLockfile(
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

async function checkLockfile(
  plan: LockfilePlan,
  input: RunActionInput,
  engine: () => Promise<InlineEngine>,
  /** Inline mode's policy (service mode uses the service's). */
  policy: Policy | undefined,
  /** Service mode: the registry installs are configured with, for the lockfile-source rule. */
  serviceRegistry: () => Promise<string | undefined>,
): Promise<Report> {
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
      packages: entries.map((e) => ({ name: e.name, version: e.version })),
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
    // The service judges names and versions; where the lockfile fetches them from is judged here,
    // under the service policy's rule and against the registry inline mode would use (a project
    // installing through the service's proxy configures the proxy as its registry).
    const configured = await serviceRegistry();
    const verdicts = judgeLockfileSources(
      answer.verdicts,
      entries,
      {
        id: answer.policy.id,
        action: answer.policy.action,
        // A service that predates the rule says nothing: its default (on, no extra registries).
        lockfileSource: answer.policy.lockfileSource ?? true,
        registries: answer.policy.registries ?? [],
      },
      configured === undefined ? [] : [configured],
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
      ],
    });
  } else {
    const { sources, popular } = await engine();
    ({ report } = await runAudit({
      dir: path.resolve(input.environment.workspace, plan.dir),
      lockfile: path.posix.basename(plan.file),
      inventory: plan.inventory,
      policy: policy!,
      sources,
      popular,
      now,
      ...(plan.filter ? { filter: plan.filter } : {}),
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

function policyAnnotations(p: ActionPolicy | undefined): Annotation[] {
  if (!p?.notice) return [];
  return [
    {
      level: p.notice.level,
      title: 'lockwarden: policy file',
      message: p.notice.message,
      file: p.notice.file,
    },
  ];
}

/** Input `lockfile` not set: every lockfile in `working-directory`, repository-relative. */
async function detectActionLockfiles(input: RunActionInput): Promise<string[]> {
  const dir = input.inputs.workingDirectory;
  const names = await detectLockfiles(path.resolve(input.environment.workspace, dir));
  if (names.length === 0) {
    throw new LockwardenError(
      'EINPUT',
      `input \`lockfile\`: not set, and ${dir} has no lockfile (looked for ${LOCKFILE_NAMES.join(', ')})`,
    );
  }
  input.log?.(`lockfiles found in ${dir}: ${names.join(', ')}`);
  return names.map((name) => joinRepoPath(dir, name));
}

export async function runAction(input: RunActionInput): Promise<ActionResult> {
  const { inputs, event, environment } = input;
  const api =
    event.repository !== undefined
      ? createGitHubApi({
          apiUrl: environment.apiUrl,
          owner: event.repository.owner,
          repo: event.repository.repo,
          ...(inputs.githubToken ? { token: inputs.githubToken } : {}),
        })
      : undefined;

  // The base commit: required for `scope: changed`; on a pull request checked with `scope: all`
  // it still gives the summary its list of lockfile changes, and on a pull request or merge group
  // it holds the policy that gates the change.
  if (inputs.scope === 'changed' && !event.baseSha) {
    throw new LockwardenError(
      'EINPUT',
      `input \`scope\`: "changed" needs a base commit, and the ${event.eventName} event has none; use \`scope: all\``,
    );
  }
  const npmrcAtBase = event.changeKind !== undefined && event.baseSha !== undefined;
  const policyAtBase = !inputs.service && npmrcAtBase;
  const listChanges = inputs.scope === 'changed' || event.pullNumber !== undefined;
  let base: BaseCommit | undefined;
  if (event.baseSha && (listChanges || npmrcAtBase)) {
    base = {
      sha: event.baseSha,
      commitPresent: await hasCommit(environment.workspace, event.baseSha),
      filter: inputs.scope === 'changed',
      ...(api ? { api } : {}),
    };
  }
  if (!inputs.service && event.changeKind !== undefined && !event.baseSha) {
    input.log?.(`the ${event.eventName} event names no base commit; the checked-out policy applies`);
  }

  // Read first, so a policy error is reported before any lockfile work.
  const actionPolicy = inputs.service
    ? undefined
    : await readActionPolicy({
        workspace: environment.workspace,
        workingDirectory: inputs.workingDirectory,
        ...(inputs.policyFile ? { policyFile: inputs.policyFile } : {}),
        ...(policyAtBase && base
          ? { readBase: baseReader(input, base), baseLabel: base.sha.slice(0, 12) }
          : {}),
        ...(input.log ? { log: input.log } : {}),
      });
  const policy = actionPolicy ? applyModeToPolicy(actionPolicy.policy, inputs.mode) : undefined;
  // Service mode reads it too: the lockfile-source rule trusts the registry it configures, so a
  // pull request must not be able to name its own (read at the base, as for the policy).
  const npmrc = await readActionNpmrc({
    workspace: environment.workspace,
    workingDirectory: inputs.workingDirectory,
    ...(npmrcAtBase && base ? { readBase: baseReader(input, base), baseLabel: base.sha.slice(0, 12) } : {}),
    ...(input.log ? { log: input.log } : {}),
  });
  if (!listChanges) base = undefined;

  let enginePromise: Promise<InlineEngine> | undefined;
  const engine = () => {
    enginePromise ??= input.createEngine(inputs, { projectNpmrc: npmrc.config });
    return enginePromise;
  };
  let registryPromise: Promise<string | undefined> | undefined;
  const serviceRegistry = () => {
    registryPromise ??= input.configuredRegistry
      ? input.configuredRegistry(inputs, { projectNpmrc: npmrc.config })
      : Promise.resolve(inputs.registry || undefined);
    return registryPromise;
  };

  const reports: Report[] = [];
  const changes: LockfileChanges[] = [];
  const skippedAdded: SkippedEntry[] = [];
  const plans: LockfilePlan[] = [];
  const lockfiles = inputs.lockfiles.length > 0 ? inputs.lockfiles : await detectActionLockfiles(input);
  for (const file of lockfiles) {
    const plan = await planLockfile(file, input, base);
    plans.push(plan);
    if (plan.changes) changes.push(plan.changes);
    for (const s of plan.skippedAdded ?? []) skippedAdded.push(rebaseSkipped(s, plan.dir));
    reports.push(await checkLockfile(plan, input, engine, policy, serviceRegistry));
  }
  const report = mergeReports(reports);
  if (inputs.lockfiles.length === 0 && lockfiles.length > 1) {
    report.warnings.unshift(
      `several lockfiles in ${inputs.workingDirectory}: ${lockfiles.join(', ')}; all of them were checked (keep the one your package manager uses, or set input \`lockfile\`)`,
    );
  }
  const outcome = decideOutcome(report);

  const reportPath = path.join(environment.tempDir, 'lockwarden', 'report.json');
  await mkdir(path.dirname(reportPath), { recursive: true });
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);

  const outputs: ActionResult['outputs'] = {
    blocked: String(report.summary.blocked),
    alerts: String(report.summary.alerts),
    unavailable: String(report.summary.unavailable),
    checked: String(report.summary.checked),
    report: reportPath,
  };
  if (inputs.sarifFile) {
    const sarifPath = path.resolve(environment.workspace, inputs.sarifFile);
    await mkdir(path.dirname(sarifPath), { recursive: true });
    const sarif = buildSarif(report, {
      ...(environment.serverUrl && environment.actionRepository
        ? { informationUri: `${environment.serverUrl.replace(/\/+$/, '')}/${environment.actionRepository}` }
        : {}),
      automationId: `lockwarden/${inputs.lockfiles.join(',')}/`,
    });
    await writeFile(sarifPath, `${JSON.stringify(sarif, null, 2)}\n`);
    outputs.sarif = sarifPath;
  }
  if (inputs.sbomFile) {
    const sbomPath = path.resolve(environment.workspace, inputs.sbomFile);
    await mkdir(path.dirname(sbomPath), { recursive: true });
    const audited = new Set(
      plans.flatMap((p) => p.inventory.entries.filter((e) => !p.filter || p.filter(e))),
    );
    const sbom = buildSbom({
      // The repository-relative lockfile, not the runner's checkout path.
      inventories: plans.map((p) => ({ ...p.inventory, file: p.file })),
      report,
      audited: (entry) => audited.has(entry),
      serialNumber: `urn:uuid:${randomUUID()}`,
    });
    await writeFile(sbomPath, `${JSON.stringify(sbom, null, 2)}\n`);
    outputs.sbom = sbomPath;
  }

  const summaryInput: SummaryInput = {
    report,
    outcome,
    changes,
    scope: inputs.scope,
    source: inputs.service
      ? { mode: 'service', url: inputs.service.url, policyId: inputs.service.policyId }
      : { mode: 'inline' },
    reportPath,
    ...(actionPolicy?.notice ? { policyNotices: [actionPolicy.notice.message] } : {}),
    ...(npmrc?.notice ? { configNotices: [npmrc.notice.message] } : {}),
  };
  const warnings: string[] = [];
  if (inputs.comment) {
    if (event.pullNumber === undefined || !api) {
      warnings.push(`input \`comment\`: the ${event.eventName} event has no pull request; no comment posted`);
    } else {
      try {
        await api.upsertComment(event.pullNumber, STICKY_COMMENT_MARKER, renderComment(summaryInput));
      } catch (err) {
        // The gate's verdict must not depend on being allowed to comment (fork PRs get read-only tokens).
        warnings.push(`the pull request comment was not posted: ${(err as Error).message}`);
      }
    }
  }

  return {
    report,
    outcome,
    annotations: [
      ...policyAnnotations(actionPolicy),
      ...(npmrc?.notice
        ? [{ ...npmrc.notice, title: 'lockwarden: npm configuration' } satisfies Annotation]
        : []),
      ...selectAnnotations(report.findings),
      ...selectSkippedAnnotations(skippedAdded),
    ],
    summary: renderSummary(summaryInput),
    changes,
    outputs,
    warnings,
  };
}
