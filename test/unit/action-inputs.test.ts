import { describe, expect, it } from 'vitest';
import { parseActionInputs, type RawInputs } from '../../src/action/parse-action-inputs.js';
import { parseEventContext } from '../../src/action/parse-event-context.js';
import { isLockwardenError } from '../../src/errors.js';

const BASE = 'a'.repeat(40);
const HEAD = 'b'.repeat(40);

function inputError(raw: RawInputs, eventName = 'pull_request'): string {
  try {
    parseActionInputs(raw, { eventName });
  } catch (err) {
    if (!isLockwardenError(err)) throw err;
    expect(err.code).toBe('EINPUT');
    return err.message;
  }
  throw new Error('expected an input error');
}

describe('parseActionInputs', () => {
  it('applies nothing but the documented defaults', () => {
    expect(parseActionInputs({}, { eventName: 'pull_request' })).toEqual({
      lockfiles: [],
      workingDirectory: '.',
      scope: 'changed',
      comment: false,
    });
  });

  it.each([
    ['pull_request', 'changed'],
    ['pull_request_target', 'changed'],
    ['merge_group', 'changed'],
    ['push', 'all'],
    ['schedule', 'all'],
    ['workflow_dispatch', 'all'],
  ])('defaults scope on %s to %s', (eventName, scope) => {
    expect(parseActionInputs({}, { eventName }).scope).toBe(scope);
  });

  it('keeps an explicit scope whatever the event', () => {
    expect(parseActionInputs({ scope: 'all' }, { eventName: 'pull_request' }).scope).toBe('all');
    expect(parseActionInputs({ scope: 'changed' }, { eventName: 'push' }).scope).toBe('changed');
  });

  it('accepts the lockfiles of pnpm, yarn and bun', () => {
    const inputs = parseActionInputs(
      { lockfile: 'pnpm-lock.yaml, web/yarn.lock\nbun.lock' },
      { eventName: 'push' },
    );
    expect(inputs.lockfiles).toEqual(['pnpm-lock.yaml', 'web/yarn.lock', 'bun.lock']);
  });

  it('resolves lockfile, policy and sarif paths against working-directory', () => {
    const inputs = parseActionInputs(
      {
        'working-directory': 'packages/app/',
        lockfile: 'package-lock.json\n sub/npm-shrinkwrap.json, package-lock.json',
        policy: '../../lockwarden.yml',
        sarif: 'out/lockwarden.sarif',
        sbom: 'out/sbom.cdx.json',
        advisories: 'osv',
      },
      { eventName: 'push' },
    );
    expect(inputs.sbomFile).toBe('packages/app/out/sbom.cdx.json');
    expect(inputs.advisories).toBe('osv');
    expect(inputs.workingDirectory).toBe('packages/app');
    expect(inputs.lockfiles).toEqual([
      'packages/app/package-lock.json',
      'packages/app/sub/npm-shrinkwrap.json',
    ]);
    expect(inputs.policyFile).toBe('lockwarden.yml');
    expect(inputs.sarifFile).toBe('packages/app/out/lockwarden.sarif');
  });

  it('reads service mode, mode alert, the comment flag and the registry', () => {
    const inputs = parseActionInputs(
      {
        'service-url': 'https://lockwarden.example.test/base',
        'service-token': 's3cret',
        'policy-id': 'strict',
        mode: 'alert',
        comment: 'True',
        registry: 'http://127.0.0.1:4873',
      },
      { eventName: 'pull_request' },
    );
    expect(inputs.service).toEqual({
      url: 'https://lockwarden.example.test/base/',
      token: 's3cret',
      policyId: 'strict',
    });
    expect(inputs.mode).toBe('alert');
    expect(inputs.comment).toBe(true);
    expect(inputs.registry).toBe('http://127.0.0.1:4873/');
  });

  it.each<[string, RawInputs, RegExp]>([
    [
      'unknown scope',
      { scope: 'everything' },
      /input `scope`: expected "changed" or "all", got "everything"/,
    ],
    ['mode block', { mode: 'block' }, /input `mode`: "block" is not an override/],
    ['unknown mode', { mode: 'dry' }, /input `mode`: expected "alert"/],
    [
      'unknown lockfile',
      { lockfile: 'Gemfile.lock' },
      /input `lockfile`: "Gemfile.lock" is not one of npm-shrinkwrap.json, package-lock.json, pnpm-lock.yaml, yarn.lock, bun.lock/,
    ],
    [
      'lockfile outside',
      { lockfile: '../other/package-lock.json' },
      /input `lockfile`: .* points outside the repository/,
    ],
    ['absolute lockfile', { lockfile: '/etc/package-lock.json' }, /input `lockfile`: .* is absolute/],
    ['windows absolute', { lockfile: 'C:\\x\\package-lock.json' }, /input `lockfile`: .* is absolute/],
    ['empty lockfile list', { lockfile: ' , \n' }, /input `lockfile`: lists no file/],
    [
      'working-directory outside',
      { 'working-directory': 'a/../../b' },
      /input `working-directory`: .* outside/,
    ],
    ['policy outside', { policy: '../../x.yml' }, /input `policy`: .* outside/],
    ['url without policy id', { 'service-url': 'http://127.0.0.1:1/' }, /input `policy-id`: is required/],
    ['policy id without url', { 'policy-id': 'strict' }, /input `service-url`: is required/],
    [
      'bad policy id',
      { 'service-url': 'http://127.0.0.1:1/', 'policy-id': '../admin' },
      /input `policy-id`: "..\/admin" is not a policy id/,
    ],
    [
      'policy in service mode',
      { 'service-url': 'http://127.0.0.1:1/', 'policy-id': 'p', policy: 'x.yml' },
      /input `policy`: cannot be combined/,
    ],
    ['token alone', { 'service-token': 't' }, /input `service-token`: is set but/],
    [
      'service url not http',
      { 'service-url': 'file:///etc/passwd', 'policy-id': 'p' },
      /input `service-url`: .* not an http\(s\) URL/,
    ],
    [
      'service url with credentials',
      { 'service-url': 'http://u:p@127.0.0.1/', 'policy-id': 'p' },
      /input `service-url`: must not contain credentials/,
    ],
    ['registry not a URL', { registry: 'my registry' }, /input `registry`: "my registry" is not a URL/],
    ['comment not boolean', { comment: 'yes' }, /input `comment`: expected true or false, got "yes"/],
    ['NUL in sarif', { sarif: 'a\0b' }, /input `sarif`: contains a NUL/],
    ['sbom outside the workspace', { sbom: '../../sbom.json' }, /input `sbom`/],
    [
      'unknown advisories',
      { advisories: 'nvd' },
      /input `advisories`: expected "registry" or "osv", got "nvd"/,
    ],
  ])('refuses %s naming the input', (_name, raw, message) => {
    expect(inputError(raw)).toMatch(message);
  });
});

describe('parseEventContext', () => {
  it('reads a pull_request payload', () => {
    const ctx = parseEventContext({
      eventName: 'pull_request',
      repository: 'octo/app',
      payload: { number: 7, pull_request: { number: 7, base: { sha: BASE }, head: { sha: HEAD } } },
    });
    expect(ctx).toEqual({
      eventName: 'pull_request',
      repository: { owner: 'octo', repo: 'app' },
      baseSha: BASE,
      headSha: HEAD,
      pullNumber: 7,
      changeKind: 'pull_request',
    });
  });

  it('reads merge_group and push payloads', () => {
    expect(
      parseEventContext({
        eventName: 'merge_group',
        payload: { merge_group: { base_sha: BASE, head_sha: HEAD } },
      }),
    ).toMatchObject({ baseSha: BASE, headSha: HEAD, changeKind: 'merge_group' });
    const push = parseEventContext({ eventName: 'push', payload: { before: BASE, after: HEAD } });
    expect(push).toMatchObject({ baseSha: BASE, headSha: HEAD });
    // A push lands on its branch: the policy it carries is already the branch's policy.
    expect(push.changeKind).toBeUndefined();
  });

  it.each([
    ['a new branch (zero before)', { before: '0'.repeat(40), after: HEAD }],
    ['an option smuggled as a sha', { pull_request: { base: { sha: '--output=/tmp/x' } } }],
    ['a short sha', { pull_request: { base: { sha: 'abc123' } } }],
    ['no payload', null],
    ['an array payload', []],
  ])('has no base commit for %s', (_name, payload) => {
    expect(parseEventContext({ eventName: 'push', payload }).baseSha).toBeUndefined();
  });

  it.each(['octo', 'octo/app/x', '../app', 'octo/..', 'oc to/app'])(
    'refuses GITHUB_REPOSITORY %j',
    (repository) => {
      expect(() => parseEventContext({ eventName: 'push', payload: {}, repository })).toThrow(
        /GITHUB_REPOSITORY/,
      );
    },
  );
});
