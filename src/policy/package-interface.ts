// A package's public interface as its package.json declares it: the entry points (the `exports`
// map with its conditions, or `main`/`module`/`types`), `bin`, `engines.node` and peers. Pure:
// the caller reads package.json and lists the files of the tarball.

export interface EntryPoint {
  /** How users import it: `lib-x`, `lib-x/utils`. */
  specifier: string;
  /** The `exports` key (`.`, `./utils`), or `.` for packages without an exports map. */
  subpath: string;
  /** Declaration file for this entry, relative to the package root (`dist/utils.d.ts`). */
  types?: string;
  /** JavaScript file for this entry, relative to the package root. */
  js?: string;
}

export interface PackageInterface {
  name: string;
  version: string;
  /** `exports` flattened: subpath → condition path (`import`, `node+require`, `default`) → target. */
  exports?: Record<string, Record<string, string>>;
  main?: string;
  module?: string;
  types?: string;
  bin: Record<string, string>;
  enginesNode?: string;
  peerDependencies: Record<string, string>;
  optionalPeers: string[];
  entries: EntryPoint[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `./dist/x.js` → `dist/x.js`. */
export function normalizeTarget(target: string): string {
  return target.replace(/^\.\//, '').replace(/^\/+/, '');
}

/** Flattens one exports value into condition path → target (first string of a fallback array). */
function flattenConditions(value: unknown, prefix: string, out: Record<string, string>): void {
  if (typeof value === 'string') {
    out[prefix || 'default'] = value;
    return;
  }
  if (Array.isArray(value)) {
    const first = value.find((v) => typeof v === 'string' || isObject(v));
    if (first !== undefined) flattenConditions(first, prefix, out);
    return;
  }
  if (!isObject(value)) return; // null: the subpath is explicitly unavailable
  for (const [cond, inner] of Object.entries(value)) {
    flattenConditions(inner, prefix ? `${prefix}+${cond}` : cond, out);
  }
}

export function flattenExports(exportsField: unknown): Record<string, Record<string, string>> | undefined {
  if (exportsField === undefined || exportsField === null) return undefined;
  const out: Record<string, Record<string, string>> = Object.create(null);
  const isSubpathMap = isObject(exportsField) && Object.keys(exportsField).some((k) => k.startsWith('.'));
  if (!isSubpathMap) {
    const conds: Record<string, string> = {};
    flattenConditions(exportsField, '', conds);
    out['.'] = conds;
    return out;
  }
  for (const [subpath, value] of Object.entries(exportsField as Record<string, unknown>)) {
    if (!subpath.startsWith('.')) continue;
    const conds: Record<string, string> = {};
    flattenConditions(value, '', conds);
    out[subpath] = conds;
  }
  return out;
}

const DTS_FOR_JS: [RegExp, string][] = [
  [/\.mjs$/, '.d.mts'],
  [/\.cjs$/, '.d.cts'],
  [/\.js$/, '.d.ts'],
];

function declarationBeside(js: string, files: ReadonlySet<string>): string | undefined {
  for (const [re, ext] of DTS_FOR_JS) {
    if (re.test(js)) {
      const candidate = js.replace(re, ext);
      if (files.has(candidate)) return candidate;
    }
  }
  if (!/\.[cm]?js$/.test(js)) {
    for (const c of [`${js}.d.ts`, `${js}/index.d.ts`]) if (files.has(c)) return c;
  }
  return undefined;
}

function jsFile(target: string, files: ReadonlySet<string>): string | undefined {
  const t = normalizeTarget(target);
  for (const c of [t, `${t}.js`, `${t}/index.js`]) if (files.has(c)) return c;
  return undefined;
}

/** Reads the interface from package.json and the list of files in the package. */
export function readPackageInterface(
  pkg: Record<string, unknown>,
  files: ReadonlySet<string>,
): PackageInterface {
  const name = str(pkg.name) ?? '';
  const exportsMap = flattenExports(pkg.exports);
  const bin: Record<string, string> = {};
  if (typeof pkg.bin === 'string') bin[name.replace(/^@[^/]+\//, '')] = normalizeTarget(pkg.bin);
  else if (isObject(pkg.bin))
    for (const [k, v] of Object.entries(pkg.bin)) if (typeof v === 'string') bin[k] = normalizeTarget(v);
  const peers: Record<string, string> = {};
  if (isObject(pkg.peerDependencies))
    for (const [k, v] of Object.entries(pkg.peerDependencies)) if (typeof v === 'string') peers[k] = v;
  const optionalPeers = isObject(pkg.peerDependenciesMeta)
    ? Object.entries(pkg.peerDependenciesMeta)
        .filter(([, m]) => isObject(m) && m.optional === true)
        .map(([k]) => k)
    : [];
  const types = str(pkg.types) ?? str(pkg.typings);
  const entries: EntryPoint[] = [];
  if (exportsMap) {
    for (const [subpath, conds] of Object.entries(exportsMap)) {
      if (subpath.includes('*')) continue; // patterns: compared as keys only
      const specifier = subpath === '.' ? name : `${name}/${subpath.replace(/^\.\//, '')}`;
      const typesCond = Object.entries(conds).find(([c]) => c.split('+').includes('types'))?.[1];
      const jsTarget = Object.entries(conds).find(
        ([c, t]) => !c.split('+').includes('types') && /\.[cm]?js$/.test(t),
      )?.[1];
      const js = jsTarget ? jsFile(jsTarget, files) : undefined;
      let dts = typesCond ? normalizeTarget(typesCond) : undefined;
      if (dts && !files.has(dts)) dts = undefined;
      dts ??= js ? declarationBeside(js, files) : undefined;
      if (subpath === '.' && !dts && types && files.has(normalizeTarget(types))) dts = normalizeTarget(types);
      entries.push({ specifier, subpath, ...(dts ? { types: dts } : {}), ...(js ? { js } : {}) });
    }
  } else {
    const main = str(pkg.main) ?? 'index.js';
    const js = jsFile(main, files);
    let dts = types ? normalizeTarget(types) : undefined;
    if (dts && !files.has(dts)) dts = files.has(`${dts}.d.ts`) ? `${dts}.d.ts` : undefined;
    dts ??= js ? declarationBeside(js, files) : undefined;
    if (!dts && files.has('index.d.ts')) dts = 'index.d.ts';
    entries.push({ specifier: name, subpath: '.', ...(dts ? { types: dts } : {}), ...(js ? { js } : {}) });
  }
  const iface: PackageInterface = {
    name,
    version: str(pkg.version) ?? '',
    bin,
    peerDependencies: peers,
    optionalPeers,
    entries,
  };
  if (exportsMap) iface.exports = exportsMap;
  const main = str(pkg.main);
  if (main) iface.main = normalizeTarget(main);
  const mod = str(pkg.module);
  if (mod) iface.module = normalizeTarget(mod);
  if (types) iface.types = normalizeTarget(types);
  const engines = isObject(pkg.engines) ? str(pkg.engines.node) : undefined;
  if (engines) iface.enginesNode = engines;
  return iface;
}
