// The Action without `@actions/core`: inputs and environment in, the decided result out (report,
// outcome, annotations, summary, outputs). `main.ts` renders it; tests call it directly.

import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ini from 'ini';
import { buildSbom } from '../engine/build-sbom.js';
import type { Report } from '../engine/report.js';
import { LockwardenError } from '../errors.js';
import { detectLockfiles, LOCKFILE_NAMES } from '../lockfile/lockfile-formats.js';
import type { SkippedEntry } from '../lockfile/lockfile-inventory.js';
import type { PopularIndex } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { applyModeToPolicy } from './apply-mode.js';
import { buildSarif } from './build-sarif.js';
import {
  type BaseCommit,
  baseReader,
  checkLockfile,
  type LockfilePlan,
  planLockfile,
} from './check-lockfile.js';
import { type ActionOutcome, decideOutcome } from './decide-outcome.js';
import type { LockfileChanges } from './describe-lockfile-changes.js';
import { createGitHubApi } from './github-api.js';
import { mergeReports, rebaseSkipped } from './merge-reports.js';
import type { ActionInputs } from './parse-action-inputs.js';
import type { EventContext } from './parse-event-context.js';
import { pullRequestReplaceRegistryHost, readActionNpmrc } from './read-action-npmrc.js';
import { type ActionPolicy, readActionPolicy } from './read-action-policy.js';
import { hasCommit } from './read-base-file.js';
import { renderComment, renderSummary, STICKY_COMMENT_MARKER, type SummaryInput } from './render-summary.js';
import { joinRepoPath } from './repository-path.js';
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

/**
 * npm's `replace-registry-host` as the lockfile-source rule should take it: the base's setting,
 * and when a pull request changes `.npmrc`, the setting its own install would use as well (a URL
 * passes as rewritten only if both rewrite it). Only that one key of the pull request's file is
 * read, layered under the runner's environment and over its user and global npmrc as npm would.
 */
async function npmRewriteSettings(
  input: RunActionInput,
  npmrc: Awaited<ReturnType<typeof readActionNpmrc>>,
): Promise<string[]> {
  if (!input.npmReplaceRegistryHost) return [];
  const read = input.npmReplaceRegistryHost;
  const settings = [(await read(input.inputs, { projectNpmrc: npmrc.config })) ?? 'npmjs'];
  if (npmrc.head !== undefined) {
    const value = npmrc.head === null ? undefined : pullRequestReplaceRegistryHost(npmrc.head);
    const projectNpmrc =
      typeof value === 'string' && value !== ''
        ? { text: ini.stringify({ 'replace-registry-host': value }), origin: 'the pull request’s .npmrc' }
        : null;
    settings.push((await read(input.inputs, { projectNpmrc })) ?? 'npmjs');
  }
  return settings;
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
  /**
   * npm's `replace-registry-host` with `settings` (both modes), for the lockfile-source rule.
   * Defaults to npm's default (`npmjs`).
   */
  npmReplaceRegistryHost?: (inputs: ActionInputs, settings: EngineSettings) => Promise<string | undefined>;
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

  let rewritePromise: Promise<string[]> | undefined;
  const npmRewrite = () => {
    rewritePromise ??= npmRewriteSettings(input, npmrc);
    return rewritePromise;
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
    reports.push(await checkLockfile(plan, input, engine, policy, { serviceRegistry, npmRewrite }));
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
