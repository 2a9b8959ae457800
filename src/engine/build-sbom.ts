// CycloneDX 1.6 JSON of what an audit saw: every lockfile package with its purl, version,
// integrity hashes and dependency relations, lockwarden's verdict and findings as properties, and
// the advisories found as CycloneDX vulnerabilities. Pure: inventories and report in, document out.
import type { LockfileEntry, LockfileInventory } from '../lockfile/lockfile-inventory.js';
import { strongestDecision } from '../policy/evaluate.js';
import type { Report, ReportFinding } from './report.js';

export interface SbomInput {
  inventories: readonly LockfileInventory[];
  report: Report;
  /** Entries the audit judged (`--only`, the Action's changed entries); every entry when omitted. */
  audited?: (entry: LockfileEntry) => boolean;
  /** `urn:uuid:...`, made by the caller (the document itself stays a function of its input). */
  serialNumber: string;
}

interface Property {
  name: string;
  value: string;
}

const HASH_ALGORITHMS: Record<string, string> = {
  sha512: 'SHA-512',
  sha384: 'SHA-384',
  sha256: 'SHA-256',
  sha1: 'SHA-1',
};
// CycloneDX names npm's `moderate` `medium`.
const SEVERITY: Record<string, string> = {
  low: 'low',
  moderate: 'medium',
  high: 'high',
  critical: 'critical',
};
const ROOT_REF = 'root-component';

/** `pkg:npm/%40scope/name@1.2.3` (the purl spec: the scope's `@` percent-encoded). */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash === -1 ? '' : `%40${encodeURIComponent(name.slice(1, slash))}/`;
  return `pkg:npm/${namespace}${encodeURIComponent(name.slice(slash + 1))}@${encodeURIComponent(version)}`;
}

/** Subresource-integrity strings (`sha512-<base64>`, several space-separated) as CycloneDX hashes. */
export function integrityHashes(integrity: string | undefined): { alg: string; content: string }[] {
  const out: { alg: string; content: string }[] = [];
  for (const part of (integrity ?? '').split(/\s+/)) {
    const dash = part.indexOf('-');
    const alg = HASH_ALGORITHMS[part.slice(0, dash).toLowerCase()];
    if (!alg || dash === -1) continue;
    const content = Buffer.from(part.slice(dash + 1), 'base64').toString('hex');
    if (content.length > 0 && !out.some((h) => h.alg === alg)) out.push({ alg, content });
  }
  return out;
}

export function buildSbom(input: SbomInput): Record<string, unknown> {
  const { report } = input;
  const findingsOf = new Map<string, ReportFinding[]>();
  for (const f of report.findings) {
    const key = `${f.name}@${f.version}`;
    findingsOf.set(key, [...(findingsOf.get(key) ?? []), f]);
  }
  const components = new Map<string, Record<string, unknown>>();
  const dependsOn = new Map<string, Set<string>>();
  const rootDependsOn = new Set<string>();
  const entries: LockfileEntry[] = input.inventories.flatMap((inventory) => inventory.entries);
  for (const entry of entries) {
    const ref = npmPurl(entry.name, entry.version);
    if (entry.path.length <= 2) rootDependsOn.add(ref);
    const deps = dependsOn.get(ref) ?? new Set<string>();
    for (const id of entry.dependsOn ?? []) {
      const at = id.lastIndexOf('@');
      deps.add(npmPurl(id.slice(0, at), id.slice(at + 1)));
    }
    dependsOn.set(ref, deps);
    if (components.has(ref)) continue;
    components.set(ref, component(entry, ref, input, findingsOf.get(`${entry.name}@${entry.version}`) ?? []));
  }
  const roots = input.inventories.map((i) => i.root).filter((r, i, all) => r && all.indexOf(r) === i);
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: input.serialNumber,
    version: 1,
    metadata: {
      timestamp: report.generatedAt,
      tools: {
        components: [{ type: 'application', name: report.tool.name, version: report.tool.version }],
      },
      component: { type: 'application', 'bom-ref': ROOT_REF, name: roots.join(', ') || 'project' },
      properties: [
        { name: 'lockwarden:policy', value: report.policy.id },
        { name: 'lockwarden:policy:action', value: report.policy.action },
        { name: 'lockwarden:exitCode', value: String(report.exitCode) },
        ...input.inventories.map((i) => ({ name: 'lockwarden:lockfile', value: i.file })),
      ],
    },
    components: [...components.values()],
    dependencies: [
      { ref: ROOT_REF, dependsOn: [...rootDependsOn].sort() },
      ...[...components.keys()].map((ref) => ({
        ref,
        dependsOn: [...(dependsOn.get(ref) ?? [])].filter((d) => components.has(d) && d !== ref).sort(),
      })),
    ],
    vulnerabilities: vulnerabilities(report.findings, components),
  };
}

function component(
  entry: LockfileEntry,
  ref: string,
  input: SbomInput,
  findings: readonly ReportFinding[],
): Record<string, unknown> {
  const slash = entry.name.startsWith('@') ? entry.name.indexOf('/') : -1;
  const properties: Property[] = [];
  if (input.audited && !input.audited(entry)) properties.push({ name: 'lockwarden:audited', value: 'false' });
  else {
    properties.push({ name: 'lockwarden:verdict', value: strongestDecision(findings) });
    for (const f of findings)
      properties.push({ name: `lockwarden:finding:${f.rule}`, value: `${f.outcome}: ${f.message}` });
  }
  if (entry.dev) properties.push({ name: 'cdx:npm:package:development', value: 'true' });
  if (entry.bundled) properties.push({ name: 'cdx:npm:package:bundled', value: 'true' });
  for (const l of entry.locations)
    properties.push({ name: 'lockwarden:location', value: `${l.file}:${l.line}` });
  const hashes = integrityHashes(entry.integrity);
  return {
    type: 'library',
    'bom-ref': ref,
    ...(slash === -1 ? {} : { group: entry.name.slice(0, slash) }),
    name: slash === -1 ? entry.name : entry.name.slice(slash + 1),
    version: entry.version,
    scope: entry.optional || entry.dev ? 'optional' : 'required',
    ...(hashes.length > 0 ? { hashes } : {}),
    purl: ref,
    ...(entry.resolved && /^https?:\/\//.test(entry.resolved)
      ? { externalReferences: [{ type: 'distribution', url: entry.resolved }] }
      : {}),
    properties,
  };
}

/** One CycloneDX vulnerability per advisory, affecting every component it was found in. */
function vulnerabilities(
  findings: readonly ReportFinding[],
  components: ReadonlyMap<string, unknown>,
): Record<string, unknown>[] {
  const byId = new Map<string, { finding: ReportFinding; affects: Set<string> }>();
  for (const f of findings) {
    const id = f.evidence?.advisory;
    if (f.rule !== 'vulnerabilities' || typeof id !== 'string' || f.version === null) continue;
    const ref = npmPurl(f.name, f.version);
    if (!components.has(ref)) continue;
    const held = byId.get(id) ?? { finding: f, affects: new Set<string>() };
    held.affects.add(ref);
    byId.set(id, held);
  }
  return [...byId].map(([id, { finding, affects }]) => {
    const e = finding.evidence ?? {};
    const score = typeof e.cvssScore === 'number' ? e.cvssScore : undefined;
    const url = typeof e.url === 'string' ? e.url : undefined;
    return {
      'bom-ref': `advisory:${id}`,
      id,
      ...(url ? { source: { url } } : {}),
      ratings: [
        { severity: SEVERITY[String(e.severity)] ?? 'unknown', ...(score === undefined ? {} : { score }) },
      ],
      description: String(e.title ?? id),
      ...(typeof e.firstFixed === 'string' ? { recommendation: `Update to ${e.firstFixed} or later` } : {}),
      ...(Array.isArray(e.aliases) && e.aliases.length > 0
        ? { references: e.aliases.map((alias) => ({ id: String(alias), source: { name: 'alias' } })) }
        : {}),
      affects: [...affects].sort().map((ref) => ({ ref })),
    };
  });
}
