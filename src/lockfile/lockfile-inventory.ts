// The format-neutral inventory every lockfile reader (npm's, pnpm's, yarn's, bun's) produces:
// what the guardrails check, with the lockfile lines to annotate.

export interface LockfileLocation {
  /** The lockfile, relative to the project directory (e.g. `package-lock.json`). */
  file: string;
  /** 1-based line of the entry's key. */
  line: number;
  /** Lockfile location: the `packages` key, or for lockfileVersion 1 the same form built from the nesting. */
  key: string;
}

export interface LockfileEntry {
  /** The real package name (for an alias, the package it points at). */
  name: string;
  version: string;
  /** The folder name when the package is installed under another name (`npm:` alias). */
  alias?: string;
  locations: LockfileLocation[];
  /** One shortest dependency path from the root, root first: `['my-app', 'a', 'b']`. */
  path: string[];
  /** True when every copy is only needed by dev / optional / peer dependencies / inside a bundle. */
  dev: boolean;
  optional: boolean;
  peer: boolean;
  bundled: boolean;
  /** The first copy's (in file order) tarball URL and integrity. */
  resolved?: string;
  integrity?: string;
  /**
   * yarn Berry's `checksum` (its own hash of the package as it caches it, verified on install):
   * pins the content where Berry records a URL, though it is no hash of the tarball.
   */
  checksum?: string;
  /**
   * Each copy's own `resolved` and `integrity`, when the copies do not all record the same (an
   * edited nested copy fetches from its own URL): the lockfile-source rule judges every one.
   * Absent when every copy records the entry's.
   */
  sources?: CopySource[];
  /** `name@version` of the registry entries any copy of this one depends on (for the SBOM). */
  dependsOn?: string[];
}

/** Where one copy of an entry is fetched from. */
export interface CopySource {
  location: LockfileLocation;
  resolved?: string;
  integrity?: string;
  checksum?: string;
}

/** A lockfile entry that is not fetched from a registry, so registry facts do not apply. */
export interface SkippedEntry {
  name: string;
  /** Where it comes from: `workspace`, `file:vendor/x`, `git+ssh://...`, a tarball URL. */
  spec: string;
  reason: string;
  location?: LockfileLocation;
}

export interface LockfileInventory {
  /** Absolute path of the lockfile read (for text read with `readLockfileText`, the name given). */
  file: string;
  lockfileVersion: number;
  /** Root package name. */
  root: string;
  entries: LockfileEntry[];
  skipped: SkippedEntry[];
  warnings: string[];
}
