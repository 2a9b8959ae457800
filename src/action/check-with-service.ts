// Service mode: the service evaluates the package list under one of its policies (and records
// the verdicts in its audit log); the Action renders them exactly like inline verdicts.
import { z } from 'zod';
import { LockwardenError } from '../errors.js';
import { validatePolicy } from '../policy/parse-policy.js';
import { RULE_IDS, type Policy, type Verdict } from '../policy/types.js';
import { parseJsonBody, sendRequest } from './http-request.js';

export interface ServiceCheckRequest {
  /** Base URL with a trailing slash. */
  url: string;
  token?: string;
  policyId: string;
  packages: readonly { name: string; version: string }[];
  /** Free-form context the service may record in its audit log. */
  context?: Record<string, string>;
  timeoutMs?: number;
}

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
const responseSchema = z.looseObject({ policy: z.unknown(), verdicts: z.array(verdictSchema) });

/** Accepts the policy in file form, or as the in-memory shape (list entries with `spec`). */
function normalizePolicyDocument(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  const src = doc as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src };
  for (const key of ['allow', 'block'] as const) {
    const list = src[key];
    if (!Array.isArray(list)) continue;
    out[key] = list.map((e) => {
      if (typeof e !== 'object' || e === null || !('spec' in e) || 'package' in e) return e;
      const { spec, reason, expires } = e as { spec: unknown; reason?: unknown; expires?: unknown };
      return { package: spec, ...(reason === undefined ? {} : { reason }), ...(expires === undefined ? {} : { expires }) };
    });
  }
  return out;
}

function describeBody(body: Buffer): string {
  const json = parseJsonBody(body) as { error?: unknown; message?: unknown } | undefined;
  const msg = typeof json?.error === 'string' ? json.error : typeof json?.message === 'string' ? json.message : '';
  return msg ? `: ${msg.slice(0, 300)}` : '';
}

export async function checkWithService(req: ServiceCheckRequest): Promise<{ policy: Policy; verdicts: Verdict[] }> {
  const endpoint = new URL(`-/lockwarden/v1/policies/${encodeURIComponent(req.policyId)}/check`, req.url).toString();
  const where = `lockwarden service ${endpoint}`;
  const res = await sendRequest({
    method: 'POST',
    url: endpoint,
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      ...(req.token ? { authorization: `Bearer ${req.token}` } : {}),
    },
    body: JSON.stringify({
      packages: req.packages.map((p) => ({ name: p.name, version: p.version })),
      ...(req.context ? { context: req.context } : {}),
    }),
    timeoutMs: req.timeoutMs ?? 120_000,
  });
  if (!res.ok) throw new LockwardenError('ESERVICE', `${where}: ${res.reason} (input \`service-url\`)`);
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: HTTP ${res.statusCode}${describeBody(res.body)}; check input \`service-token\` (a token with the check permission for policy "${req.policyId}")`,
    );
  }
  if (res.statusCode === 404) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: HTTP 404${describeBody(res.body)}; check input \`policy-id\` ("${req.policyId}") and \`service-url\``,
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
      `${where}: the response is not a check result${at ? ` (at ${at}: ${issue?.message})` : ''}`,
    );
  }
  const verdicts = parsed.data.verdicts as Verdict[];
  if (verdicts.length !== req.packages.length) {
    throw new LockwardenError(
      'ESERVICE',
      `${where}: asked about ${req.packages.length} packages, got ${verdicts.length} verdicts`,
    );
  }
  verdicts.forEach((v, i) => {
    const asked = req.packages[i]!;
    if (v.name !== asked.name || v.version !== asked.version) {
      throw new LockwardenError(
        'ESERVICE',
        `${where}: verdict ${i} is for ${v.name}@${v.version ?? 'latest'}, expected ${asked.name}@${asked.version}`,
      );
    }
  });
  const policy = validatePolicy(normalizePolicyDocument(parsed.data.policy), { file: `${where} (policy)` });
  return { policy, verdicts };
}
