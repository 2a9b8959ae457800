// Service mode: the service evaluates the package list under one of its policies (and records
// the verdicts in its audit log); the Action renders them exactly like inline verdicts.
import { z } from 'zod';
import { LockwardenError } from '../errors.js';
import { type Policy, RULE_IDS, type Verdict } from '../policy/types.js';
import { parseJsonBody, sendRequest } from './http-request.js';

export interface ServiceCheckRequest {
  /** Base URL with a trailing slash. */
  url: string;
  token?: string;
  policyId: string;
  /**
   * `bundlesUnlisted`: a registry entry whose tarball may bundle packages (any but a copy inside a
   * bundle: pnpm, yarn and bun lockfiles do not list them, and npm's `inBundle` entries are what a
   * pull request says); the service reads its tarball for that, as inline mode does.
   */
  packages: readonly { name: string; version: string; bundlesUnlisted?: boolean }[];
  /** Sent as the user agent, which the service records in its audit log (`lockwarden-action (octo/app#7)`). */
  userAgent?: string;
  timeoutMs?: number;
  /** Packages per request; the service caps a request at 10,000. */
  batchSize?: number;
  /**
   * `alert`: a dry run. Sent so the service's audit log records `alert`, not `blocked`; the
   * Action converts the verdicts itself too, for a service that does not know the field.
   */
  mode?: 'alert';
  /**
   * Updates the pull request makes (`name from → to`), judged by the service for semver honesty
   * against the verdict of `name@to`, as inline mode does; each goes with its target's batch.
   */
  updates?: readonly { name: string; from: string; to: string }[];
}

/**
 * What the service says about its policy: what a report needs, not the whole policy, and what the
 * Action needs to judge the lockfile's sources itself (the service sees names and versions only).
 * A service that predates the lockfile-source rule sends neither field.
 */
export type ServicePolicy = Pick<Policy, 'id' | 'name' | 'action' | 'onUnavailable'> &
  Partial<Pick<Policy, 'lockfileSource' | 'registries'>> & { revision?: number };

const decision = z.enum(['allow', 'alert', 'block']);
const findingSchema = z.looseObject({
  name: z.string(),
  version: z.string().nullable(),
  rule: z.enum(RULE_IDS as unknown as [string, ...string[]]),
  outcome: z.enum(['block', 'alert', 'unavailable']),
  effect: decision,
  scope: z.enum(['package', 'version']),
  message: z.string(),
  hint: z.string(),
  source: z.string().optional(),
});
const noticeSchema = z.looseObject({
  name: z.string(),
  version: z.string().nullable(),
  kind: z.enum(['expired-allow', 'expired-block', 'allowed-by-list', 'unknown-package']),
  message: z.string(),
});
const verdictSchema = z.looseObject({
  name: z.string(),
  version: z.string().nullable(),
  decision,
  findings: z.array(findingSchema),
  notices: z.array(noticeSchema).default([]),
  allowedBy: z.string().optional(),
});
const responseSchema = z.looseObject({
  policy: z.looseObject({
    id: z.string(),
    name: z.string().optional(),
    action: z.enum(['block', 'alert']),
    onUnavailable: z.enum(['allow', 'alert', 'block']),
    revision: z.number().optional(),
    lockfileSource: z.boolean().optional(),
    registries: z.array(z.string()).optional(),
  }),
  updatesChecked: z.number().optional(),
  bundlesChecked: z.number().optional(),
  verdicts: z.array(verdictSchema),
});
const DEFAULT_BATCH_SIZE = 5_000;

function describeBody(body: Buffer): string {
  const json = parseJsonBody(body) as { error?: unknown; message?: unknown } | undefined;
  const msg =
    typeof json?.error === 'string' ? json.error : typeof json?.message === 'string' ? json.message : '';
  return msg ? `: ${msg.slice(0, 300)}` : '';
}

export interface ServiceCheckAnswer {
  policy: ServicePolicy;
  verdicts: Verdict[];
  /** Updates were sent but the service did not say it judged them (it predates semver honesty). */
  updatesIgnored?: boolean;
  /** Entries were flagged `bundlesUnlisted` but the service did not say it read their bundles. */
  bundlesIgnored?: boolean;
}

export async function checkWithService(req: ServiceCheckRequest): Promise<ServiceCheckAnswer> {
  const batchSize = Math.max(1, req.batchSize ?? DEFAULT_BATCH_SIZE);
  let policy: ServicePolicy | undefined;
  const verdicts: Verdict[] = [];
  const batches: (typeof req.packages)[] = [];
  for (let start = 0; start < req.packages.length; start += batchSize) {
    batches.push(req.packages.slice(start, start + batchSize));
  }
  // Even with nothing to check, ask once: the report names the service's policy.
  if (batches.length === 0) batches.push([]);
  let updatesIgnored = false;
  let bundlesIgnored = false;
  for (const batch of batches) {
    const inBatch = new Set(batch.map((p) => `${p.name}@${p.version}`));
    const updates = (req.updates ?? []).filter((u) => inBatch.has(`${u.name}@${u.to}`));
    const answer = await checkBatch(req, batch, updates);
    if (updates.length > 0 && answer.updatesChecked === undefined) updatesIgnored = true;
    if (batch.some((p) => p.bundlesUnlisted) && answer.bundlesChecked === undefined) bundlesIgnored = true;
    if (policy && (answer.policy.id !== policy.id || answer.policy.revision !== policy.revision)) {
      throw new LockwardenError(
        'ESERVICE',
        `lockwarden service: policy "${req.policyId}" changed while the Action was checking; re-run the job`,
      );
    }
    policy = answer.policy;
    verdicts.push(...answer.verdicts);
  }
  return {
    policy: policy!,
    verdicts,
    ...(updatesIgnored ? { updatesIgnored } : {}),
    ...(bundlesIgnored ? { bundlesIgnored } : {}),
  };
}

async function checkBatch(
  req: ServiceCheckRequest,
  packages: ServiceCheckRequest['packages'],
  updates: NonNullable<ServiceCheckRequest['updates']>,
): Promise<{ policy: ServicePolicy; verdicts: Verdict[]; updatesChecked?: number; bundlesChecked?: number }> {
  const endpoint = new URL(
    `-/lockwarden/v1/policies/${encodeURIComponent(req.policyId)}/check`,
    req.url,
  ).toString();
  const where = `lockwarden service ${endpoint}`;
  const res = await sendRequest({
    method: 'POST',
    url: endpoint,
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      ...(req.userAgent ? { 'user-agent': req.userAgent } : {}),
      ...(req.token ? { authorization: `Bearer ${req.token}` } : {}),
    },
    body: JSON.stringify({
      packages: packages.map((p) => ({
        name: p.name,
        version: p.version,
        ...(p.bundlesUnlisted ? { bundles: 'unlisted' } : {}),
      })),
      ...(req.mode ? { mode: req.mode } : {}),
      ...(updates.length > 0
        ? { updates: updates.map((u) => ({ name: u.name, from: u.from, to: u.to })) }
        : {}),
    }),
    timeoutMs: req.timeoutMs ?? 120_000,
  });
  if (!res.ok) throw new LockwardenError('ESERVICE', `${where}: ${res.reason} (input \`service-url\`)`);
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: HTTP ${res.statusCode}${describeBody(res.body)}; check input \`service-token\``,
    );
  }
  if (res.statusCode === 404) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: HTTP 404${describeBody(res.body)}; check inputs \`policy-id\` ("${req.policyId}") and \`service-url\``,
    );
  }
  if (res.statusCode !== 200) {
    throw new LockwardenError('ESERVICE', `${where}: HTTP ${res.statusCode}${describeBody(res.body)}`);
  }
  const parsed = responseSchema.safeParse(parseJsonBody(res.body));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? issue.path.map(String).join('.') : '';
    throw new LockwardenError(
      'ESERVICE',
      `${where}: the response is not a check result${issue ? ` (${at ? `at ${at}: ` : ''}${issue.message})` : ''}`,
    );
  }
  const verdicts = parsed.data.verdicts as Verdict[];
  if (verdicts.length !== packages.length) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: asked about ${packages.length} packages, got ${verdicts.length} verdicts`,
    );
  }
  verdicts.forEach((v, i) => {
    const asked = packages[i]!;
    if (v.name !== asked.name || v.version !== asked.version) {
      throw new LockwardenError(
        'ESERVICE',
        `${where}: verdict ${i} is for ${v.name}@${v.version ?? 'latest'}, expected ${asked.name}@${asked.version}`,
      );
    }
  });
  const p = parsed.data.policy;
  const policy: ServicePolicy = {
    id: p.id,
    name: p.name ?? p.id,
    action: p.action,
    onUnavailable: p.onUnavailable,
  };
  if (p.revision !== undefined) policy.revision = p.revision;
  if (p.lockfileSource !== undefined) policy.lockfileSource = p.lockfileSource;
  if (p.registries !== undefined) policy.registries = p.registries;
  const { updatesChecked, bundlesChecked } = parsed.data;
  return {
    policy,
    verdicts,
    ...(updatesChecked === undefined ? {} : { updatesChecked }),
    ...(bundlesChecked === undefined ? {} : { bundlesChecked }),
  };
}
