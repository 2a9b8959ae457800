// The one module that talks to the runner through `@actions/core`: read inputs, run, render the
// decided result. Policy and input errors, unavailable facts and crashes end in distinct messages.

import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as actionsCore from '@actions/core';
import { isLockwardenError } from '../errors.js';
import { createPopularIndex } from '../policy/popular-index.js';
import { createSources, resolveSourceConfig } from '../sources/create-sources.js';
import { resolveCacheDir } from '../sources/disk-cache.js';
import { loadNpmConfig } from '../sources/npm-config.js';
import { assertGitHubTokenStaysHome, npmConfigEnvironment } from './keep-secrets-home.js';
import { type ActionInputs, INPUT_NAMES, parseActionInputs, type RawInputs } from './parse-action-inputs.js';
import { parseEventContext } from './parse-event-context.js';
import { type EngineSettings, type InlineEngine, runAction } from './run-action.js';

/** The slice of `@actions/core` the Action uses; tests pass a recording fake. */
export interface ActionCore {
  getInput(name: string): string;
  setOutput(name: string, value: string): void;
  setFailed(message: string): void;
  setSecret(secret: string): void;
  error(message: string, properties?: actionsCore.AnnotationProperties): void;
  warning(message: string, properties?: actionsCore.AnnotationProperties): void;
  notice(message: string, properties?: actionsCore.AnnotationProperties): void;
  info(message: string): void;
  debug(message: string): void;
  /** Appends markdown to the job summary (`$GITHUB_STEP_SUMMARY`). */
  writeSummary(markdown: string): Promise<void>;
}

export interface RunDeps {
  core?: ActionCore;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Inline-mode sources; defaults to the real ones configured from inputs and env. */
  createEngine?: (
    inputs: ActionInputs,
    env: NodeJS.ProcessEnv,
    settings: EngineSettings,
  ) => Promise<InlineEngine & { close?(): Promise<void> }>;
}

const MAX_EVENT_BYTES = 32 * 1024 * 1024;

export function createActionCore(): ActionCore {
  return {
    getInput: (name) => actionsCore.getInput(name),
    setOutput: (name, value) => actionsCore.setOutput(name, value),
    setFailed: (message) => actionsCore.setFailed(message),
    setSecret: (secret) => actionsCore.setSecret(secret),
    error: (message, props) => actionsCore.error(message, props),
    warning: (message, props) => actionsCore.warning(message, props),
    notice: (message, props) => actionsCore.notice(message, props),
    info: (message) => actionsCore.info(message),
    debug: (message) => actionsCore.debug(message),
    writeSummary: async (markdown) => {
      await actionsCore.summary.addRaw(markdown).write();
    },
  };
}

function engineConfig(inputs: ActionInputs, env: NodeJS.ProcessEnv, settings: EngineSettings) {
  return resolveSourceConfig({
    flags: {
      ...(inputs.registry ? { registry: inputs.registry } : {}),
      ...(inputs.githubToken ? { githubToken: inputs.githubToken } : {}),
      ...(inputs.advisories ? { advisories: inputs.advisories } : {}),
    },
    env: npmConfigEnvironment(env),
    cwd: env.GITHUB_WORKSPACE ?? process.cwd(),
    projectNpmrc: settings.projectNpmrc,
  });
}

async function defaultEngine(inputs: ActionInputs, env: NodeJS.ProcessEnv, settings: EngineSettings) {
  const config = await engineConfig(inputs, env, settings);
  assertGitHubTokenStaysHome(config, inputs.githubToken);
  const sources = createSources(config);
  return { sources, popular: createPopularIndex(sources.popular), close: () => sources.close() };
}

async function readEventPayload(file: string | undefined): Promise<unknown> {
  if (!file) return {};
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`GITHUB_EVENT_PATH ${file}: cannot read the event payload (${err.code ?? err.message})`);
  });
  if (text.length > MAX_EVENT_BYTES)
    throw new Error(`GITHUB_EVENT_PATH ${file}: the event payload is too large`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GITHUB_EVENT_PATH ${file}: the event payload is not JSON`);
  }
}

/** Reads every input the way the runner provides them; empty means "not set". */
export function readRawInputs(core: Pick<ActionCore, 'getInput'>): RawInputs {
  const raw: Record<string, string | undefined> = {};
  for (const name of INPUT_NAMES) {
    const value = core.getInput(name);
    raw[name] = value === '' ? undefined : value;
  }
  return raw;
}

/** Failure text: user errors as they are; anything else is a crash and says so, never a pass. */
export function describeFailure(err: unknown): string {
  if (isLockwardenError(err)) return `lockwarden: ${err.message}`;
  const e = err instanceof Error ? err : new Error(String(err));
  return `lockwarden crashed (this is a bug, not a verdict; please report it): ${e.message}`;
}

function errorSummary(message: string, crashed: boolean): string {
  const body = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `## ❌ lockwarden: ${crashed ? 'crashed' : 'could not run'}\n\n<pre>${body}</pre>\n\n${
    crashed ? 'No verdict was reached; the check fails rather than pass unchecked.\n' : ''
  }`;
}

export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? createActionCore();
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());
  let summary: string | undefined;
  let engine: (InlineEngine & { close?(): Promise<void> }) | undefined;
  try {
    const raw = readRawInputs(core);
    for (const secret of [raw['service-token'], raw['github-token']]) if (secret) core.setSecret(secret);
    const eventName = env.GITHUB_EVENT_NAME ?? '';
    const inputs = parseActionInputs(raw, { eventName });
    const event = parseEventContext({
      eventName,
      payload: await readEventPayload(env.GITHUB_EVENT_PATH),
      ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
    });
    core.debug(
      `scope ${inputs.scope}; lockfiles ${inputs.lockfiles.join(', ') || '(detected)'}; base ${event.baseSha ?? 'none'}`,
    );

    const result = await runAction({
      inputs,
      event,
      environment: {
        workspace: env.GITHUB_WORKSPACE || process.cwd(),
        tempDir: env.RUNNER_TEMP || tmpdir(),
        apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
        cacheDir: resolveCacheDir({ env }),
        ...(env.GITHUB_SERVER_URL ? { serverUrl: env.GITHUB_SERVER_URL } : {}),
        // Empty for `uses: ./`: then the checked-out repository is the Action's own.
        ...(env.GITHUB_ACTION_REPOSITORY || env.GITHUB_REPOSITORY
          ? { actionRepository: env.GITHUB_ACTION_REPOSITORY || env.GITHUB_REPOSITORY }
          : {}),
      },
      now: now(),
      createEngine: async (i, settings) => {
        engine = await (deps.createEngine ?? defaultEngine)(i, env, settings);
        return engine;
      },
      // Service mode opens no sources: the registry inline mode's sources would use, no more.
      configuredRegistry: async (i, settings) => {
        const config = await engineConfig(i, env, settings);
        return config.registryUrl ?? (await loadNpmConfig(config.npm)).registry;
      },
      npmReplaceRegistryHost: async (i, settings) =>
        (await loadNpmConfig((await engineConfig(i, env, settings)).npm)).replaceRegistryHost,
      log: (message) => core.info(message),
    });
    summary = result.summary;

    for (const a of result.annotations) {
      const props: actionsCore.AnnotationProperties = { title: a.title };
      if (a.file !== undefined) props.file = a.file;
      if (a.startLine !== undefined) props.startLine = a.startLine;
      core[a.level](a.message, props);
    }
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, value);
    for (const w of result.warnings) core.warning(w);
    if (result.outcome.failed) core.setFailed(`lockwarden: ${result.outcome.message}`);
    else core.info(`lockwarden: ${result.outcome.message}`);
  } catch (err) {
    const message = describeFailure(err);
    summary = errorSummary(message, !isLockwardenError(err));
    if (!isLockwardenError(err) && err instanceof Error && err.stack) core.debug(err.stack);
    core.setFailed(message);
  } finally {
    try {
      await engine?.close?.();
    } catch (err) {
      core.debug(`closing the sources failed: ${(err as Error).message}`);
    }
    if (summary !== undefined) {
      try {
        await core.writeSummary(summary);
      } catch (err) {
        core.warning(`the job summary could not be written: ${(err as Error).message}`);
      }
    }
  }
}
