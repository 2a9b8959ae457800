// How to get past an audit entry. Entries keep the engine's reason (rule, threshold, observed
// value); the way out depends only on the rule, so it is spelled here per rule, in the words of
// the engine's own hints.
export function howToGetPast(entry) {
  const spec = entry.version ? `${entry.package}@${entry.version}` : entry.package;
  if (/could not be (fetched|checked)|unavailable/i.test(entry.reason))
    return 'A source of facts did not answer: it passes once the source is reachable again, or set "When facts are unavailable" to allow or alert.';
  switch (entry.rule) {
    case 'cooling-off':
      return `Wait until the date in the reason, pin an older version, or add "${spec}" to the allow list with a reason.`;
    case 'typosquatting':
      return `If you meant the package it looks like, fix the name; if ${entry.package} is intended, add it to the allow list with a reason.`;
    case 'popularity':
      return `Check that ${entry.package} is the package you mean; if it is, add it to the allow list with a reason.`;
    case 'suspicious-version':
      return `Check the release in the package's repository and changelog; if it is genuine, add "${spec}" to the allow list with a reason.`;
    case 'blocklist':
      return "It is on the policy's block list: remove or narrow that entry (or let it expire) if it no longer applies.";
    case 'not-on-registry':
      return 'The upstream registry does not have it: check the name and version.';
    case 'semver-honesty':
      return `Stay on the earlier version, treat the update as a major one, or add "${spec}" to the allow list with a reason.`;
    case 'lockfile-source':
      return "Regenerate the lockfile entry from your registry, or add the registry it came from to the policy's registries.";
    default:
      return `Add "${spec}" to the allow list with a reason if it is wanted.`;
  }
}

/** Whether an allow entry would get past the entry (the block list and missing facts are not lifted by one). */
export function allowHelps(entry) {
  return (
    !['blocklist', 'not-on-registry', 'lockfile-source'].includes(entry.rule) &&
    !/unavailable/i.test(entry.reason)
  );
}
