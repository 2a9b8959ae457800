// The policy editor's working copy: templates, the form values of a policy, the body the admin
// API takes, and where each of the engine's validation problems belongs (step and field).
export const TEMPLATES = [
  {
    key: 'production',
    title: 'Production',
    text: 'Block: 14 days of cooling-off, at least 1,000 weekly downloads, typosquatting and suspicious version checks on.',
    values: {
      name: 'Production',
      description: 'Keeps fresh, unpopular, look-alike and untagged versions out of production builds.',
      action: 'block',
      coolingOffDays: '14',
      minWeeklyDownloads: '1000',
      typosquatting: true,
      suspiciousVersion: true,
      onUnavailable: 'alert',
    },
  },
  {
    key: 'development',
    title: 'Development',
    text: 'Alert: 3 days of cooling-off; everything installs, what production would refuse is logged.',
    values: {
      name: 'Development',
      description: 'Logs what a stricter policy would refuse, without stopping local work.',
      action: 'alert',
      coolingOffDays: '3',
      minWeeklyDownloads: '0',
      typosquatting: true,
      suspiciousVersion: false,
      onUnavailable: 'alert',
    },
  },
  {
    key: 'scratch',
    title: 'From scratch',
    text: 'Every guardrail off; choose each one yourself.',
    values: {
      name: '',
      description: '',
      action: 'block',
      coolingOffDays: '0',
      minWeeklyDownloads: '0',
      typosquatting: false,
      suspiciousVersion: false,
      onUnavailable: 'alert',
    },
  },
];

export const STEPS = ['General details', 'Action', 'Thresholds', 'Allow & block lists', 'Save'];

/** A policy id from a name: what the id field proposes until it is edited. */
export function idFromName(name) {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

const toEntry = (e) =>
  typeof e === 'string'
    ? { package: e, reason: '', expires: '' }
    : { package: e.package ?? '', reason: e.reason ?? '', expires: e.expires ?? '' };

/** Form values from a template or a stored policy (the file form, as GET /policies returns). */
export function draftFrom(policy) {
  const {
    id = '',
    name = '',
    description = '',
    action = 'block',
    coolingOffDays = 0,
    minWeeklyDownloads = 0,
    typosquatting = true,
    suspiciousVersion = false,
    onUnavailable = 'alert',
    allow = [],
    block = [],
    ...rest
  } = policy;
  return {
    id,
    name: name ?? '',
    description: description ?? '',
    action,
    coolingOffDays: String(coolingOffDays),
    minWeeklyDownloads: String(minWeeklyDownloads),
    typosquatting,
    suspiciousVersion,
    onUnavailable,
    allow: allow.map(toEntry),
    block: block.map(toEntry),
    // Settings the console does not edit (semver honesty, registries, ...) are kept as they are.
    rest,
  };
}

/** Numbers as typed: an empty or malformed value goes to the engine as it is, which says why. */
function number(text) {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function entryBody(e) {
  const reason = e.reason.trim();
  const expires = e.expires.trim();
  if (reason === '' && expires === '') return e.package.trim();
  return { package: e.package.trim(), ...(reason ? { reason } : {}), ...(expires ? { expires } : {}) };
}

/** The request body for POST/PUT /policies. */
export function bodyOf(draft) {
  return {
    ...draft.rest,
    id: draft.id.trim(),
    ...(draft.name.trim() ? { name: draft.name.trim() } : {}),
    ...(draft.description.trim() ? { description: draft.description.trim() } : {}),
    action: draft.action,
    coolingOffDays: number(draft.coolingOffDays),
    minWeeklyDownloads: number(draft.minWeeklyDownloads),
    typosquatting: draft.typosquatting,
    suspiciousVersion: draft.suspiciousVersion,
    onUnavailable: draft.onUnavailable,
    allow: draft.allow.map(entryBody),
    block: draft.block.map(entryBody),
  };
}

const STEP_OF_KEY = {
  id: 0,
  name: 0,
  description: 0,
  action: 1,
  coolingOffDays: 2,
  minWeeklyDownloads: 2,
  typosquatting: 2,
  suspiciousVersion: 2,
  suspiciousVersionGraceHours: 2,
  onUnavailable: 2,
  allow: 3,
  block: 3,
};

/**
 * Where a problem of the engine belongs: `{step, field}`, the field being the form control's id
 * (`coolingOffDays`, `allow-2-expires`), or null for problems no control of the console shows.
 */
export function placeProblem(problem) {
  const list = /^(allow|block)\[(\d+)\](?:\.(package|reason|expires))?/.exec(problem.path);
  if (list) return { step: 3, field: `${list[1]}-${list[2]}-${list[3] ?? 'package'}` };
  const key = /^[A-Za-z]+/.exec(problem.path)?.[0];
  if (key && key in STEP_OF_KEY)
    return { step: STEP_OF_KEY[key], field: key === 'allow' || key === 'block' ? null : key };
  return { step: 4, field: null };
}
