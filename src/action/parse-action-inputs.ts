// Action inputs, validated in one place. Empty inputs arrive as `undefined` so that nothing here
// overrides the policy file by accident: only inputs the workflow actually set are laid over it.
import { posix } from 'node:path';
import { LockwardenError } from '../errors.js';
import { isKnownLockfileName, LOCKFILE_NAMES } from '../lockfile/lockfile-formats.js';

/** Raw input values by their `action.yml` name; empty strings already mapped to undefined. */
export type RawInputs = Readonly<Record<string, string | undefined>>;

export type ActionScope = 'changed' | 'all';

export interface ServiceInputs {
  /** Base URL of `lockwarden serve`, with a trailing slash. */
  url: string;
  token?: string;
  policyId: string;
}

export interface ActionInputs {
  /** Policy file, relative to the workspace (already joined with `working-directory`). */
  policyFile?: string;
  /**
   * Lockfiles, relative to the workspace (already joined with `working-directory`), posix
   * separators; empty when the input is not set: every lockfile in `workingDirectory` is checked.
   */
  lockfiles: string[];
  /** Relative to the workspace; `.` for the repository root. */
  workingDirectory: string;
  scope: ActionScope;
  /** `alert` turns blocks into alerts for a dry run; undefined keeps the policy's action. */
  mode?: 'alert';
  service?: ServiceInputs;
  githubToken?: string;
  comment: boolean;
  registry?: string;
  /** SARIF output file relative to the workspace, when requested. */
  sarifFile?: string;
  /** CycloneDX SBOM output file relative to the workspace, when requested. */
  sbomFile?: string;
  /** Where advisories come from for a policy with `vulnerabilities`. */
  advisories?: 'registry' | 'osv';
}

export const INPUT_NAMES = [
  'policy',
  'lockfile',
  'working-directory',
  'scope',
  'mode',
  'service-url',
  'service-token',
  'policy-id',
  'github-token',
  'comment',
  'registry',
  'sarif',
  'sbom',
  'advisories',
] as const;

/** Events whose payload names a base commit, so `scope: changed` is the natural default. */
const CHANGE_EVENTS = new Set(['pull_request', 'pull_request_target', 'merge_group']);
const POLICY_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function inputError(name: string, message: string): LockwardenError {
  return new LockwardenError('EINPUT', `input \`${name}\`: ${message}`, { details: { input: name } });
}

/**
 * A path inside the workspace, normalized to posix form. Absolute paths and paths that climb out
 * of the workspace are refused: the Action reads and writes only inside the checkout.
 */
function workspacePath(name: string, value: string, base: string): string {
  if (value.includes('\0')) throw inputError(name, 'contains a NUL character');
  const slashed = value.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-z]:/i.test(slashed)) {
    throw inputError(name, `"${value}" is absolute; give a path relative to the repository`);
  }
  const joined = posix.normalize(posix.join(base, slashed));
  if (joined === '..' || joined.startsWith('../')) {
    throw inputError(name, `"${value}" points outside the repository`);
  }
  return joined === '' ? '.' : joined.replace(/\/$/, '');
}

function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  // The runner's own rule for boolean inputs (YAML 1.2 core schema).
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw inputError(name, `expected true or false, got "${value}"`);
}

function parseHttpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw inputError(name, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw inputError(name, `"${value}" is not an http(s) URL`);
  }
  if (url.username || url.password) {
    throw inputError(name, 'must not contain credentials; use the matching token input');
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

/** Lockfile list: one per line or comma-separated, as monorepo workflows tend to write it. */
function parseLockfiles(value: string | undefined, base: string): string[] {
  // Not given: every lockfile in working-directory is detected when the Action runs.
  if (value === undefined) return [];
  const items = value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw inputError('lockfile', 'lists no file');
  const out: string[] = [];
  for (const item of items) {
    const file = workspacePath('lockfile', item, base);
    if (!isKnownLockfileName(posix.basename(file))) {
      throw inputError('lockfile', `"${item}" is not one of ${LOCKFILE_NAMES.join(', ')}`);
    }
    if (!out.includes(file)) out.push(file);
  }
  return out;
}

export function parseActionInputs(raw: RawInputs, ctx: { eventName: string }): ActionInputs {
  const workingDirectory = workspacePath('working-directory', raw['working-directory'] ?? '.', '.');

  const scopeRaw = raw.scope;
  let scope: ActionScope;
  if (scopeRaw === undefined) scope = CHANGE_EVENTS.has(ctx.eventName) ? 'changed' : 'all';
  else if (scopeRaw === 'changed' || scopeRaw === 'all') scope = scopeRaw;
  else throw inputError('scope', `expected "changed" or "all", got "${scopeRaw}"`);

  let mode: 'alert' | undefined;
  if (raw.mode === 'alert') mode = 'alert';
  else if (raw.mode === 'block') {
    throw inputError(
      'mode',
      '"block" is not an override: `mode` can only downgrade to "alert"; remove it to use the policy\'s action',
    );
  } else if (raw.mode !== undefined) throw inputError('mode', `expected "alert", got "${raw.mode}"`);

  let service: ServiceInputs | undefined;
  const serviceUrl = raw['service-url'];
  const policyId = raw['policy-id'];
  if (serviceUrl !== undefined || policyId !== undefined) {
    if (serviceUrl === undefined) throw inputError('service-url', 'is required when `policy-id` is set');
    if (policyId === undefined) throw inputError('policy-id', 'is required when `service-url` is set');
    if (!POLICY_ID.test(policyId)) {
      throw inputError('policy-id', `"${policyId}" is not a policy id (lowercase letters, digits, "-", "_")`);
    }
    if (raw.policy !== undefined) {
      throw inputError(
        'policy',
        'cannot be combined with `service-url`: in service mode the service policy applies',
      );
    }
    service = { url: parseHttpUrl('service-url', serviceUrl), policyId };
    if (raw['service-token'] !== undefined) service.token = raw['service-token'];
  } else if (raw['service-token'] !== undefined) {
    throw inputError('service-token', 'is set but `service-url` and `policy-id` are not');
  }

  const inputs: ActionInputs = {
    lockfiles: parseLockfiles(raw.lockfile, workingDirectory),
    workingDirectory,
    scope,
    comment: parseBoolean('comment', raw.comment, false),
  };
  if (raw.policy !== undefined) inputs.policyFile = workspacePath('policy', raw.policy, workingDirectory);
  if (mode) inputs.mode = mode;
  if (service) inputs.service = service;
  if (raw['github-token'] !== undefined) inputs.githubToken = raw['github-token'];
  if (raw.registry !== undefined) inputs.registry = parseHttpUrl('registry', raw.registry);
  if (raw.sarif !== undefined) inputs.sarifFile = workspacePath('sarif', raw.sarif, workingDirectory);
  if (raw.sbom !== undefined) inputs.sbomFile = workspacePath('sbom', raw.sbom, workingDirectory);
  if (raw.advisories !== undefined) {
    if (raw.advisories !== 'registry' && raw.advisories !== 'osv')
      throw inputError('advisories', `expected "registry" or "osv", got ${JSON.stringify(raw.advisories)}`);
    inputs.advisories = raw.advisories;
  }
  return inputs;
}
