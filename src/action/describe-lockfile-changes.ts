// A pull request's lockfile changes as reviewers read them: "Updated the following:
// left-pad 1.3.0 → 1.3.1". Pure: takes the lockfile diff as plain data.

export interface LockfileChanges {
  /** Repository-relative lockfile path. */
  file: string;
  /** True when the base commit had no such lockfile (every entry counts as added). */
  newFile: boolean;
  added: { name: string; version: string }[];
  updated: { name: string; from: string[]; to: string }[];
  removed: { name: string; version: string }[];
  /** Same name@version, another `resolved` or `integrity`: checked again. */
  sourceChanged: { name: string; version: string; fields: string[] }[];
  /** New entries that are not registry packages (git, tarball, `file:`): never checked, so listed. */
  skippedAdded: { name: string; spec: string; reason: string }[];
}

/** The parts of the lockfile diff this module reads. */
export interface LockfileDiffLike {
  added: readonly { name: string; version: string }[];
  updated: readonly { name: string; from: readonly string[]; to: { name: string; version: string } }[];
  removed: readonly { name: string; version: string }[];
  sourceChanged?: readonly { to: { name: string; version: string }; fields: readonly string[] }[];
  skippedAdded?: readonly { name: string; spec: string; reason: string }[];
}

function byNameVersion(a: { name: string; version: string }, b: { name: string; version: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

function uniqueSorted(
  list: readonly { name: string; version: string }[],
): { name: string; version: string }[] {
  const seen = new Map<string, { name: string; version: string }>();
  for (const e of list) seen.set(`${e.name}@${e.version}`, { name: e.name, version: e.version });
  return [...seen.values()].sort(byNameVersion);
}

/** Collapses the diff to one line per name@version, sorted, so the summary is stable. */
export function describeLockfileChanges(
  file: string,
  diff: LockfileDiffLike,
  newFile: boolean,
): LockfileChanges {
  const updated = new Map<string, { name: string; from: string[]; to: string }>();
  for (const u of diff.updated) {
    const key = `${u.to.name}@${u.to.version}`;
    const prev = updated.get(key);
    const from = [...new Set([...(prev?.from ?? []), ...u.from])].sort();
    updated.set(key, { name: u.to.name, from, to: u.to.version });
  }
  // An update already names the version it replaced; listing it as removed too would say it twice.
  const replaced = new Set([...updated.values()].flatMap((u) => u.from.map((v) => `${u.name}@${v}`)));
  return {
    file,
    newFile,
    added: uniqueSorted(diff.added),
    updated: [...updated.values()].sort((a, b) =>
      byNameVersion({ name: a.name, version: a.to }, { name: b.name, version: b.to }),
    ),
    removed: uniqueSorted(diff.removed.filter((r) => !replaced.has(`${r.name}@${r.version}`))),
    sourceChanged: (diff.sourceChanged ?? [])
      .map((c) => ({ name: c.to.name, version: c.to.version, fields: [...c.fields] }))
      .sort(byNameVersion),
    skippedAdded: (diff.skippedAdded ?? [])
      .map((s) => ({ name: s.name, spec: s.spec, reason: s.reason }))
      .sort((a, b) => byNameVersion({ name: a.name, version: a.spec }, { name: b.name, version: b.spec })),
  };
}

export function countChanges(c: LockfileChanges): number {
  return (
    c.added.length + c.updated.length + c.removed.length + c.sourceChanged.length + c.skippedAdded.length
  );
}

/**
 * `Updated the following: a 1.0.0 → 1.0.1, b 2.0.0 → 3.0.0` and the same for added and removed.
 * Lists longer than `maxItems` end with "and N more".
 */
export function formatChangeLines(c: LockfileChanges, maxItems = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = [];
  const join = (items: string[]) => {
    if (items.length <= maxItems) return items.join(', ');
    return `${items.slice(0, maxItems).join(', ')} and ${items.length - maxItems} more`;
  };
  if (c.updated.length) {
    lines.push(
      `Updated the following: ${join(c.updated.map((u) => `${u.name} ${u.from.join(', ')} → ${u.to}`))}`,
    );
  }
  if (c.added.length)
    lines.push(`Added the following: ${join(c.added.map((a) => `${a.name} ${a.version}`))}`);
  if (c.removed.length)
    lines.push(`Removed the following: ${join(c.removed.map((r) => `${r.name} ${r.version}`))}`);
  if (c.sourceChanged.length) {
    lines.push(
      `Same version, different source (checked again): ${join(c.sourceChanged.map((x) => `${x.name} ${x.version} (${x.fields.join(', ')})`))}`,
    );
  }
  if (c.skippedAdded.length) {
    lines.push(
      `Added without a registry check (not a registry package; review by hand): ${join(c.skippedAdded.map((x) => `${x.name} from ${x.spec}`))}`,
    );
  }
  return lines;
}
