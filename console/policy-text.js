// How a policy reads in the console: a one-line summary of its thresholds and the snippets that
// put an install, an image or a pipeline behind it.
const number = new Intl.NumberFormat('en-US');

export function thresholdSummary(p) {
  const parts = [];
  parts.push(p.coolingOffDays > 0 ? `${number.format(p.coolingOffDays)} days cooling-off` : 'no cooling-off');
  parts.push(
    p.minWeeklyDownloads > 0
      ? `≥ ${number.format(p.minWeeklyDownloads)} weekly downloads`
      : 'no download floor',
  );
  parts.push(`typosquatting ${p.typosquatting ? 'on' : 'off'}`);
  parts.push(`suspicious version ${p.suspiciousVersion ? 'on' : 'off'}`);
  parts.push(`unavailable facts: ${p.onUnavailable}`);
  const allow = p.allow?.length ?? 0;
  const block = p.block?.length ?? 0;
  if (allow + block > 0) parts.push(`${allow} allowed, ${block} blocked`);
  return parts.join(' · ');
}

export const ACTION_TEXT = {
  block:
    'Block: versions that break a rule are hidden from installs and refused (403) when asked for directly.',
  alert:
    'Alert: everything is served; versions that break a rule are logged as alerts. The block list still blocks.',
};

/** Paste-ready configuration for one policy (`described` is an entry of GET /policies). */
export function snippets(described) {
  const url = described.registry;
  const id = described.id;
  const origin = url.slice(0, url.length - id.length - 1).replace(/\/+$/, '');
  const policyFile = JSON.stringify({ ...described.policy, $schema: undefined }, null, 2);
  return [
    { key: 'dockerfile', title: 'Dockerfile', text: `ENV NPM_CONFIG_REGISTRY=${url}` },
    { key: 'docker-run', title: 'docker run', text: `docker run -e NPM_CONFIG_REGISTRY=${url} <image>` },
    { key: 'npmrc', title: '.npmrc', text: `registry=${url}` },
    {
      key: 'action-service',
      title: 'GitHub Action, service mode',
      text: `- uses: <owner>/lockwarden@v1\n  with:\n    service-url: ${origin}\n    policy-id: ${id}\n    service-token: \${{ secrets.LOCKWARDEN_TOKEN }}   # a check token (Check tokens page)`,
    },
    {
      key: 'action-inline',
      title: 'GitHub Action, inline',
      text: `# .github/lockwarden.json\n${policyFile}\n\n# workflow step\n- uses: <owner>/lockwarden@v1\n  with:\n    policy: .github/lockwarden.json`,
    },
  ];
}
