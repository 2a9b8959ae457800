// Policy files: one zod schema is the source of truth for validation, defaults and the
// published JSON Schema (schema/policy.schema.json is generated from it).
import { createRequire } from 'node:module';
// A namespace import, not `{ z }`: zod's `z` object holds every schema kind, so importing it bundles
// all of zod into `lockwarden check`'s start-up; member accesses on the namespace let the CLI
// bundle leave out what this file never calls (scripts/build-cli.mjs, test/e2e/cli-bundle.test.ts).
import * as z from 'zod';
import { LockwardenError } from '../errors.js';
import { expiryTime, parseListSpec } from './list-entry.js';
import type { AdvisoryAllowEntry, ListEntry, Policy } from './types.js';
import { ADVISORY_ID_PATTERN, SEVERITIES } from './vulnerabilities.js';

export interface PolicyProblem {
  /** Key path in the file, e.g. `allow[2].expires`; empty for the whole document. */
  path: string;
  message: string;
}

// Each field states its expectation once; the problem report appends what was found.
const expect = (text: string) => ({ error: text });
const nonNegative = (what: string) =>
  z
    .number(expect(`expected ${what}`))
    .min(0, expect(`expected ${what}`))
    .refine(Number.isFinite, expect(`expected ${what}`));
const flag = (what: string) => z.boolean(expect(`expected true or false (${what})`));

const listSpec = z.string(expect('expected a package spec string'));
const listEntrySchema = z.union(
  [
    listSpec,
    z.strictObject({
      package: listSpec.describe('Package name, "@scope/*", glob or "name@<range>"'),
      reason: z.string(expect('expected a string')).optional().describe('Why this exception exists'),
      expires: z
        .string(expect('expected a date (YYYY-MM-DD)'))
        .optional()
        .describe('The entry applies through this date (UTC) and is reported once expired'),
    }),
  ],
  expect('expected a package spec string or an object {"package", "reason", "expires"}'),
);
// Allow entries may also accept one advisory, wherever it appears.
const advisoryEntrySchema = z.strictObject({
  advisory: z
    .string(expect('expected an advisory id'))
    .regex(ADVISORY_ID_PATTERN, expect('expected an advisory id such as "GHSA-xxxx-xxxx-xxxx" or a CVE id'))
    .describe("Advisory id (GHSA, CVE or the source's own id) accepted for every package it concerns"),
  reason: z.string(expect('expected a string')).optional().describe('Why this exception exists'),
  expires: z
    .string(expect('expected a date (YYYY-MM-DD)'))
    .optional()
    .describe('The entry applies through this date (UTC) and is reported once expired'),
});
const allowEntrySchema = z.union(
  [...listEntrySchema.options, advisoryEntrySchema],
  expect(
    'expected a package spec string, an object {"package", "reason", "expires"} or {"advisory", "reason", "expires"}',
  ),
);

export const POLICY_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const policyFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z
      .string(expect('expected a policy id (lowercase letters, digits, "-" and "_")'))
      .regex(
        POLICY_ID_PATTERN,
        expect('expected a policy id (lowercase letters, digits, "-" and "_", up to 63)'),
      )
      .describe('URL-safe identifier; the proxy serves the policy at /<id>/'),
    name: z.string(expect('expected a string')).optional(),
    description: z.string(expect('expected a string')).optional(),
    action: z
      .enum(['block', 'alert'], expect('expected "block" or "alert"'))
      .default('block')
      .describe('block: violations fail the build / are hidden; alert: reported only'),
    coolingOffDays: nonNegative('a number >= 0 (days; 0 disables)')
      .default(0)
      .describe('Minimum days since a version was published; fractions allowed; 0 disables'),
    minWeeklyDownloads: nonNegative('a number >= 0 (downloads; 0 disables)')
      .default(0)
      .describe('Minimum downloads of the package over the previous 7 days; 0 disables'),
    typosquatting: flag('typosquatting')
      .default(true)
      .describe('Refuse names that look like a popular package'),
    suspiciousVersion: flag('suspiciousVersion')
      .default(false)
      .describe('Flag versions with no matching tag or release in their GitHub repository'),
    suspiciousVersionGraceHours: nonNegative('a number >= 0 (hours)')
      .default(24)
      .describe('Hours after publish during which a missing tag is not yet suspicious'),
    allow: z
      .array(allowEntrySchema, expect('expected an array of package specs'))
      .default([])
      .describe(
        'Bypasses every guardrail (but not the block list); an advisory entry accepts that advisory only',
      ),
    block: z
      .array(listEntrySchema, expect('expected an array of package specs'))
      .default([])
      .describe('Always blocked, in both modes'),
    onUnavailable: z
      .enum(['allow', 'alert', 'block'], expect('expected "allow", "alert" or "block"'))
      .default('alert')
      .describe('What a guardrail whose facts could not be fetched yields; always reported as unavailable'),
    semverHonesty: z
      .enum(['off', 'alert', 'block'], expect('expected "off", "alert" or "block"'))
      .default('alert')
      .describe('Breaking interface changes in a minor or patch update: off, alert, or block'),
    lockfileSource: flag('lockfileSource')
      .default(true)
      .describe(
        'Lockfile entries must resolve to the configured registry or `registries`, with an integrity',
      ),
    registries: z
      .array(
        z.url({ protocol: /^https?$/, ...expect('expected an http(s) registry URL') }),
        expect('expected an array of registry URLs'),
      )
      .default([])
      .describe('Registry URLs besides the configured one that lockfile entries may resolve to'),
    vulnerabilities: z
      .strictObject({
        minSeverity: z
          .enum(SEVERITIES, expect('expected "low", "moderate", "high" or "critical"'))
          .describe('Advisories of this severity or above are findings'),
      })
      .optional()
      .describe('Published advisories (registry bulk endpoint or OSV) as findings; absent: off'),
    securityFixes: z
      .enum(['bypass-cooling-off', 'normal'], expect('expected "bypass-cooling-off" or "normal"'))
      .optional()
      .describe(
        'With vulnerabilities on (default bypass-cooling-off): a young version that fixes an advisory of the version before it passes cooling-off, with an alert',
      ),
  })
  .describe('A lockwarden policy');

const KNOWN_KEYS = Object.keys(policyFileSchema.shape);

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input);
  if (text === undefined) return String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function closestKey(key: string): string | undefined {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  return KNOWN_KEYS.find((k) => k.toLowerCase() === lower);
}

function problemsFromZod(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...issue.path];
    const path = formatPath(at);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = path === '' ? closestKey(key) : undefined;
        problems.push({
          path: path === '' ? key : `${path}.${key}`,
          message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`,
        });
      }
      continue;
    }
    const input = (issue as { input?: unknown }).input;
    // A list entry written as an object that fails inside (an unknown or mistyped key): report
    // those nested problems, not the union's "expected a string or an object".
    if (issue.code === 'invalid_union' && isPlainObject(input) && issue.errors.length >= 2) {
      const which = Object.hasOwn(input, 'advisory') && issue.errors.length === 3 ? 2 : 1;
      problems.push(...problemsFromZod(issue.errors[which]!, at));
      continue;
    }
    problems.push({ path, message: `${issue.message}, got ${describeInput(input)}` });
  }
  return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The allow and block entries that can be read as entries at all (a string, or an object whose
 * `package` is one): checked even when the schema failed elsewhere, so every problem shows at once.
 */
function normalizeEntries(raw: unknown, key: 'allow' | 'block', problems: PolicyProblem[]): ListEntry[] {
  const out: ListEntry[] = [];
  if (!Array.isArray(raw)) return out;
  raw.forEach((item: unknown, i) => {
    const obj = typeof item === 'string' ? { package: item } : isPlainObject(item) ? item : undefined;
    if (!obj || typeof obj.package !== 'string') return; // reported by the schema
    const parsed = parseListSpec(obj.package);
    const path = typeof item === 'string' ? `${key}[${i}]` : `${key}[${i}].package`;
    let ok = true;
    if ('problem' in parsed) {
      problems.push({ path, message: parsed.problem });
      ok = false;
    }
    const expires = obj.expires;
    if (typeof expires === 'string' && Number.isNaN(expiryTime(expires))) {
      problems.push({
        path: `${key}[${i}].expires`,
        message: `expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got ${describeInput(expires)}`,
      });
      ok = false;
    }
    if (!ok || 'problem' in parsed) return;
    const entry: ListEntry = { spec: obj.package.trim(), namePattern: parsed.namePattern };
    if (parsed.range !== undefined) entry.range = parsed.range;
    if (typeof obj.reason === 'string') entry.reason = obj.reason;
    if (typeof expires === 'string') entry.expires = expires;
    out.push(entry);
  });
  return out;
}

/** Allow entries that name an advisory (their shape is checked by the schema; the date here). */
function normalizeAdvisoryEntries(raw: unknown, problems: PolicyProblem[]): AdvisoryAllowEntry[] {
  const out: AdvisoryAllowEntry[] = [];
  if (!Array.isArray(raw)) return out;
  raw.forEach((item: unknown, i) => {
    if (!isPlainObject(item) || typeof item.advisory !== 'string' || Object.hasOwn(item, 'package')) return;
    const expires = item.expires;
    if (typeof expires === 'string' && Number.isNaN(expiryTime(expires))) {
      problems.push({
        path: `allow[${i}].expires`,
        message: `expected a date (YYYY-MM-DD) or a timestamp with a zone (2026-12-31T18:00:00Z), got ${describeInput(expires)}`,
      });
      return;
    }
    const entry: AdvisoryAllowEntry = { advisory: item.advisory.trim() };
    if (typeof item.reason === 'string') entry.reason = item.reason;
    if (typeof expires === 'string') entry.expires = expires;
    out.push(entry);
  });
  return out;
}

/** Problems in the order their keys are declared in the schema, then by position in a list. */
function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  const rank = (p: PolicyProblem) => {
    const top = /^[^.[]*/.exec(p.path)?.[0] ?? '';
    const i = KNOWN_KEYS.indexOf(top);
    return i === -1 ? KNOWN_KEYS.length : i;
  };
  const index = (p: PolicyProblem) => Number(/^[^.[]*\[(\d+)\]/.exec(p.path)?.[1] ?? -1);
  return problems
    .map((p, order) => ({ p, order }))
    .sort((a, b) => rank(a.p) - rank(b.p) || index(a.p) - index(b.p) || a.order - b.order)
    .map(({ p }) => p);
}

function fail(file: string, problems: PolicyProblem[]): never {
  const lines = problems.map((p) => `  ${p.path === '' ? '(document)' : p.path}: ${p.message}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  throw new LockwardenError('EPOLICY', `${file}: invalid policy, ${count}:\n${lines.join('\n')}`, {
    details: problems,
  });
}

/** Validates a policy object, reporting every problem at once with its key path. */
export function validatePolicy(input: unknown, opts: { file: string }): Policy {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    fail(opts.file, [{ path: '', message: `expected an object, got ${describeInput(input)}` }]);
  }
  const result = policyFileSchema.safeParse(input, { reportInput: true });
  const raw = input as Record<string, unknown>;
  const problems: PolicyProblem[] = result.success ? [] : problemsFromZod(result.error.issues);
  const allow = normalizeEntries(raw.allow, 'allow', problems);
  const block = normalizeEntries(raw.block, 'block', problems);
  const allowAdvisories = normalizeAdvisoryEntries(raw.allow, problems);
  if (!result.success || problems.length > 0) fail(opts.file, sortProblems(problems));
  const file = result.data;
  return {
    id: file.id,
    name: file.name ?? file.id,
    description: file.description ?? '',
    action: file.action,
    coolingOffDays: file.coolingOffDays,
    minWeeklyDownloads: file.minWeeklyDownloads,
    typosquatting: file.typosquatting,
    suspiciousVersion: file.suspiciousVersion,
    suspiciousVersionGraceHours: file.suspiciousVersionGraceHours,
    allow,
    block,
    onUnavailable: file.onUnavailable,
    semverHonesty: file.semverHonesty,
    lockfileSource: file.lockfileSource,
    registries: file.registries,
    ...(file.vulnerabilities ? { vulnerabilities: { minSeverity: file.vulnerabilities.minSeverity } } : {}),
    ...(file.securityFixes ? { securityFixes: file.securityFixes } : {}),
    ...(allowAdvisories.length > 0 ? { allowAdvisories } : {}),
  };
}

// YAML support is loaded on first use: most policies are JSON, and `lockwarden check` start-up counts.
let yamlParse: ((text: string, options: { maxAliasCount: number }) => unknown) | undefined;
/**
 * Hands the YAML parser over up front, for a bundle (the Action) that has no node_modules beside
 * it for the lazy `require` to find.
 */
export function useYamlParser(parse: (text: string, options: { maxAliasCount: number }) => unknown): void {
  yamlParse = parse;
}
function parseYaml(text: string): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse;
  return yamlParse(text, { maxAliasCount: 100 });
}

/** Parses a policy file's text: JSON, or YAML when the file name says so or the text is not JSON. */
export function parsePolicy(text: string, opts: { file: string }): Policy {
  const yamlByName = /\.ya?ml$/i.test(opts.file);
  let data: unknown;
  try {
    data = yamlByName ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    fail(opts.file, [{ path: '', message: `not valid ${yamlByName ? 'YAML' : 'JSON'}: ${why}` }]);
  }
  return validatePolicy(data, opts);
}

function serializeEntry(entry: ListEntry): string | Record<string, string> {
  if (entry.reason === undefined && entry.expires === undefined) return entry.spec;
  const out: Record<string, string> = { package: entry.spec };
  if (entry.reason !== undefined) out.reason = entry.reason;
  if (entry.expires !== undefined) out.expires = entry.expires;
  return out;
}

/** The file form of a policy (what `validatePolicy` reads back). */
export function serializePolicy(policy: Policy): Record<string, unknown> {
  return {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    action: policy.action,
    coolingOffDays: policy.coolingOffDays,
    minWeeklyDownloads: policy.minWeeklyDownloads,
    typosquatting: policy.typosquatting,
    suspiciousVersion: policy.suspiciousVersion,
    suspiciousVersionGraceHours: policy.suspiciousVersionGraceHours,
    allow: [...policy.allow.map(serializeEntry), ...(policy.allowAdvisories ?? []).map((e) => ({ ...e }))],
    block: policy.block.map(serializeEntry),
    onUnavailable: policy.onUnavailable,
    semverHonesty: policy.semverHonesty,
    lockfileSource: policy.lockfileSource,
    registries: policy.registries,
    ...(policy.vulnerabilities ? { vulnerabilities: { ...policy.vulnerabilities } } : {}),
    ...(policy.securityFixes ? { securityFixes: policy.securityFixes } : {}),
  };
}

/** The policy used when none is given: a week of cooling-off, typosquat protection, alert on missing facts. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  id: 'default',
  name: 'Default',
  description: 'Built-in policy: 7 days of cooling-off and typosquatting protection.',
  action: 'block',
  coolingOffDays: 7,
  minWeeklyDownloads: 0,
  typosquatting: true,
  suspiciousVersion: false,
  suspiciousVersionGraceHours: 24,
  allow: [],
  block: [],
  onUnavailable: 'alert',
  semverHonesty: 'alert',
  lockfileSource: true,
  registries: [],
}) as Policy;
