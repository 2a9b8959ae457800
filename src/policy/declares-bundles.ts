// Whether a version's manifest says its tarball carries dependencies of its own. Apart from the
// tarball reading in src/engine/bundled-packages.ts: `audit` asks it of every version it reads a
// document for (gather-facts.ts), and `lockwarden check` should not load a tar parser for that.

/** Whether a manifest declares bundled dependencies (either spelling; `true` bundles them all). */
export function declaresBundles(manifest: Record<string, unknown>): boolean {
  return [manifest.bundleDependencies, manifest.bundledDependencies].some((b) =>
    Array.isArray(b) ? b.length > 0 : !!b,
  );
}
