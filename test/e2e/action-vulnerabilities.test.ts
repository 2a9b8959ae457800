// The built Action with a policy that has `vulnerabilities`: advisories from the fake registry's
// bulk endpoint show as annotations on the lockfile line and in the summary, SARIF carries their
// security-severity, and the `sbom` input writes a CycloneDX 1.6 document the official schema accepts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureActionBundle } from '../helpers/ensure-action-bundle.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeGitHubRepoApi, startFakeGitHubRepoApi } from '../helpers/fake-github-repo-api.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { type ActionRepo, lineOfKey, makeActionRepo, readLockText } from '../helpers/make-action-repo.js';
import { makePackument } from '../helpers/make-packument.js';
import {
  type BundleRun,
  parseAnnotations,
  REPO_ROOT,
  runActionBundle,
} from '../helpers/run-action-bundle.js';

const TOKEN = 'ghs_e2e_token';
const DAY_MS = 86_400_000;
// The bundle reads the real clock: publish times far from the thresholds.
const ago = (days: number) => new Date(Date.now() - days * DAY_MS);

let registry: FakeRegistry;
let downloads: FakeDownloads;
let github: FakeGitHubRepoApi;
let work: string;
let repo: ActionRepo;
let result: BundleRun;

beforeAll(async () => {
  ensureActionBundle();
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'lodash',
        versions: [
          { version: '4.17.20', publishedAt: ago(900) },
          { version: '4.17.21', publishedAt: ago(800) },
        ],
      }),
      makePackument({ name: 'ms', versions: [{ version: '2.1.2', publishedAt: ago(700) }] }),
    ],
    advisories: [
      {
        name: 'lodash',
        id: 1002,
        ghsa: 'GHSA-35jh-r3h4-6jhm',
        severity: 'high',
        title: 'Command injection in lodash',
        vulnerable_versions: '<4.17.21',
        cvss: { score: 7.2, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
      },
    ],
  });
  downloads = await startFakeDownloads();
  github = await startFakeGitHubRepoApi({ requireToken: TOKEN });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-vuln-'));
  repo = makeActionRepo({
    dir: path.join(work, 'repo'),
    base: null,
    head: {
      deps: [
        { name: 'lodash', version: '4.17.20', dependencies: { ms: '^2.1.0' } },
        { name: 'ms', version: '2.1.2' },
      ],
    },
    files: {
      '.github/lockwarden.yml':
        'id: sec\naction: block\ncoolingOffDays: 7\nvulnerabilities:\n  minSeverity: moderate\n',
    },
  });
  const event = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'action', 'push.json'), 'utf8')
      .replaceAll('__BASE_SHA__', repo.baseSha)
      .replaceAll('__BEFORE_SHA__', repo.baseSha)
      .replaceAll('__HEAD_SHA__', repo.headSha)
      .replaceAll('__API_URL__', github.url),
  );
  result = await runActionBundle({
    workspace: repo.dir,
    eventName: 'push',
    event,
    repository: 'octo-org/web-app',
    apiUrl: github.url,
    githubToken: TOKEN,
    inputs: {
      registry: registry.url,
      policy: '.github/lockwarden.yml',
      sarif: 'out/lockwarden.sarif',
      sbom: 'out/sbom.cdx.json',
    },
    env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url },
  });
});

afterAll(async () => {
  await Promise.all([registry?.close(), downloads?.close(), github?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the Action with vulnerabilities on', () => {
  it('fails on the vulnerable version with an annotation on its lockfile line and a summary row', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const line = String(lineOfKey(readLockText(repo.dir), 'node_modules/lodash'));
    const error = parseAnnotations(result, 'error').find((a) => a.file === 'package-lock.json');
    expect(error).toMatchObject({ line, title: 'lockwarden: vulnerabilities' });
    expect(error!.message).toContain(
      'lodash@4.17.20 has advisory GHSA-35jh-r3h4-6jhm (high): Command injection in lodash; fixed in 4.17.21',
    );
    expect(result.summary).toContain('GHSA-35jh-r3h4-6jhm');
    expect(result.summary).toContain('update to lodash@4.17.21 or later');
  });

  it('writes SARIF with the advisory’s security-severity', () => {
    const sarif = JSON.parse(readFileSync(result.outputs.sarif!, 'utf8'));
    const found = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'vulnerabilities');
    expect(found.properties).toMatchObject({ 'security-severity': '7.2', advisory: 'GHSA-35jh-r3h4-6jhm' });
  });

  it('writes the sbom input as CycloneDX 1.6 that the official schema accepts', async () => {
    expect(result.outputs.sbom).toBe(path.join(repo.dir, 'out', 'sbom.cdx.json'));
    const text = readFileSync(result.outputs.sbom!, 'utf8');
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text)).toBeNull();
    const sbom = JSON.parse(text);
    expect(sbom.components.map((c: { purl: string }) => c.purl).sort()).toEqual([
      'pkg:npm/lodash@4.17.20',
      'pkg:npm/ms@2.1.2',
    ]);
    expect(sbom.metadata.properties).toContainEqual({
      name: 'lockwarden:lockfile',
      value: 'package-lock.json',
    });
    expect(sbom.dependencies).toContainEqual({
      ref: 'pkg:npm/lodash@4.17.20',
      dependsOn: ['pkg:npm/ms@2.1.2'],
    });
    expect(sbom.vulnerabilities[0]).toMatchObject({
      id: 'GHSA-35jh-r3h4-6jhm',
      affects: [{ ref: 'pkg:npm/lodash@4.17.20' }],
    });
  });
});
