// The console's policy editor model (console/policy-draft.js, plain browser JS): templates, the
// request body it sends, and where each of the engine's problems is shown.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the console's modules are plain JavaScript for the browser, without types.
import { bodyOf, draftFrom, idFromName, placeProblem, TEMPLATES } from '../../console/policy-draft.js';
import { validatePolicy } from '../../src/policy/parse-policy.js';

describe('policy draft', () => {
  it('turns the Production template into the policy the issue describes, valid for the engine', () => {
    const t = TEMPLATES.find((x: { key: string }) => x.key === 'production');
    const body = bodyOf(draftFrom({ ...t.values, id: idFromName(t.values.name) }));
    const policy = validatePolicy(body, { file: 'test' });
    expect(policy).toMatchObject({
      id: 'production',
      action: 'block',
      coolingOffDays: 14,
      minWeeklyDownloads: 1000,
      typosquatting: true,
      suspiciousVersion: true,
    });
  });

  it('keeps what the console does not edit, and writes entries as strings unless they have a reason or expiry', () => {
    const draft = draftFrom({
      id: 'x',
      action: 'alert',
      semverHonesty: 'block',
      registries: ['http://127.0.0.1:1/'],
      allow: ['a', { package: 'b', reason: 'why' }],
    });
    draft.block = [{ package: ' c ', reason: '', expires: '2027-01-01' }];
    draft.coolingOffDays = ' ';
    const body = bodyOf(draft);
    expect(body).toMatchObject({
      semverHonesty: 'block',
      registries: ['http://127.0.0.1:1/'],
      allow: ['a', { package: 'b', reason: 'why' }],
      block: [{ package: 'c', expires: '2027-01-01' }],
      coolingOffDays: '',
    });
    expect(body).not.toHaveProperty('name');
  });

  it.each([
    ['Web Production!', 'web-production'],
    ['  Ünïcode  team ', 'unicode-team'],
    ['', ''],
  ])('proposes the id %j -> %j', (name, id) => {
    expect(idFromName(name)).toBe(id);
  });

  it.each([
    ['id', { step: 0, field: 'id' }],
    ['action', { step: 1, field: 'action' }],
    ['coolingOffDays', { step: 2, field: 'coolingOffDays' }],
    ['allow[2]', { step: 3, field: 'allow-2-package' }],
    ['block[0].expires', { step: 3, field: 'block-0-expires' }],
    ['allow', { step: 3, field: null }],
    ['registries[0]', { step: 4, field: null }],
    ['', { step: 4, field: null }],
  ])('places a problem at %j', (path, place) => {
    expect(placeProblem({ path, message: 'm' })).toEqual(place);
  });
});
