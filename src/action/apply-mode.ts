// The `mode: alert` input: a dry run that lays `action: alert` over the policy. It never upgrades,
// and like `action: alert` in the file it leaves the block list and `onUnavailable` alone: those
// are explicit decisions of the policy author.
import type { Policy } from '../policy/types.js';

export function applyModeToPolicy<P extends Pick<Policy, 'action'>>(policy: P, mode: 'alert' | undefined): P {
  return mode === 'alert' && policy.action !== 'alert' ? { ...policy, action: 'alert' } : policy;
}
