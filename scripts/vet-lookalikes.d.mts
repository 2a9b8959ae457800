// Types for vet-lookalikes.mjs, which the unit tests import.
export interface Evidence {
  squat: boolean;
  versions: number;
  reason: string;
}
export declare const TYPO_TRAFFIC_SHARE: number;
export declare const HISTORY_VERSIONS: number;
export declare function readEvidence(packument: unknown): Evidence;
export declare function judgeLookalike(
  evidence: Evidence,
  monthly: number,
  targetMonthly: number,
): { established: boolean; reason: string };
export declare function readEvidenceFor(
  names: readonly string[],
  options: { registry: string; cacheFile?: string; concurrency?: number; log?: (line: string) => void },
): Promise<Map<string, Evidence>>;
