// Compares the exported declarations of two versions of a package with the TypeScript compiler
// API. Both versions are loaded into ONE in-memory program (under /old/ and /new/), so the checker
// can ask whether an old type is assignable to the new one. Files come from the unpacked tarballs;
// nothing is read from disk but TypeScript's own lib files, which are parsed once per process.
import type * as ts from 'typescript';
import type { EntryPoint } from '../policy/package-interface.js';
import type { InterfaceChange } from '../policy/semver-honesty.js';
import { embeddedTypeScriptLibs, loadTypeScript } from './load-typescript.js';
import { TYPESCRIPT_LIBS, TYPESCRIPT_LIBS_FOR_JS } from './typescript-libs.js';

export interface DeclarationSide {
  /** File texts by package-relative path. */
  texts: ReadonlyMap<string, string>;
  entries: readonly EntryPoint[];
}

const tsc = loadTypeScript();

const OPTIONS: ts.CompilerOptions = {
  target: tsc.ScriptTarget.ES2022,
  module: tsc.ModuleKind.ESNext,
  moduleResolution: tsc.ModuleResolutionKind.Bundler,
  lib: [...TYPESCRIPT_LIBS],
  types: [],
  noEmit: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: false,
  strict: true,
};

// lib.*.d.ts are the same for every comparison: parse them once.
const libFiles = new Map<string, ts.SourceFile | undefined>();
const libDir = tsc.sys.getExecutingFilePath().replace(/[^/\\]+$/, '');
// The Action's bundle carries the lib files it needs in itself; elsewhere they are on disk.
const embeddedLibs = embeddedTypeScriptLibs();
const readLib = (f: string): string | undefined =>
  embeddedLibs ? embeddedLibs.get(f.slice(libDir.length)) : tsc.sys.readFile(f);

function createHost(files: Map<string, string>): ts.CompilerHost {
  const dirs = new Set<string>();
  for (const f of files.keys()) {
    for (let d = f.slice(0, f.lastIndexOf('/')); d.length > 0; d = d.slice(0, d.lastIndexOf('/')))
      dirs.add(d);
  }
  const isLib = (f: string) => f.startsWith(libDir);
  return {
    fileExists: (f) => files.has(f) || (isLib(f) && readLib(f) !== undefined),
    readFile: (f) => files.get(f) ?? (isLib(f) ? readLib(f) : undefined),
    directoryExists: (d) =>
      dirs.has(d.replace(/\/$/, '')) || (isLib(d) && (!!embeddedLibs || tsc.sys.directoryExists(d))),
    getDirectories: () => [],
    getSourceFile: (f, languageVersion) => {
      if (isLib(f)) {
        if (!libFiles.has(f)) {
          const text = readLib(f);
          libFiles.set(f, text === undefined ? undefined : tsc.createSourceFile(f, text, languageVersion));
        }
        return libFiles.get(f);
      }
      const text = files.get(f);
      return text === undefined ? undefined : tsc.createSourceFile(f, text, languageVersion);
    },
    getDefaultLibFileName: (o) => tsc.getDefaultLibFilePath(o),
    getDefaultLibLocation: () => libDir,
    writeFile: () => {},
    getCurrentDirectory: () => '/',
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
  };
}

const short = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text);

export interface DeclarationPair {
  before: DeclarationSide;
  after: DeclarationSide;
}

/** One pair; see compareDeclarationPairs. */
export function compareDeclarations(before: DeclarationSide, after: DeclarationSide): InterfaceChange[] {
  return compareDeclarationPairs([{ before, after }])[0]!;
}

/**
 * Many pairs in one program: setting up a checker (merging the lib globals) costs more than
 * comparing a typical package, so a run's comparisons share one (bench/update-bench.ts).
 */
export function compareDeclarationPairs(items: readonly DeclarationPair[]): InterfaceChange[][] {
  interface Job {
    item: number;
    entry: EntryPoint;
    old: string;
    now: string;
    kind: 'types' | 'js';
  }
  const jobs: Job[] = [];
  const files = new Map<string, string>();
  items.forEach(({ before, after }, item) => {
    const mine: Job[] = [];
    for (const entry of before.entries) {
      const next = after.entries.find((e) => e.subpath === entry.subpath);
      if (!next) continue; // a removed subpath is reported from the exports map
      if (entry.types && next.types)
        mine.push({ item, entry, old: entry.types, now: next.types, kind: 'types' });
      else if (!entry.types && !next.types && entry.js && next.js)
        mine.push({ item, entry, old: entry.js, now: next.js, kind: 'js' });
    }
    if (mine.length === 0 || sameFiles(before.texts, after.texts)) return; // nothing can differ
    jobs.push(...mine);
    for (const [f, t] of before.texts) files.set(`/${item}/old/${f}`, t);
    for (const [f, t] of after.texts) files.set(`/${item}/new/${f}`, t);
  });
  const out: InterfaceChange[][] = items.map(() => []);
  if (jobs.length === 0) return out;
  const roots = jobs
    .flatMap((j) => [`/${j.item}/old/${j.old}`, `/${j.item}/new/${j.now}`])
    .filter((f) => files.has(f));
  // JavaScript entries are read for their export names only: their imports are not followed.
  const jsOnly = jobs.every((j) => j.kind === 'js');
  const program = tsc.createProgram({
    rootNames: roots,
    options: jsOnly ? { ...OPTIONS, noResolve: true, lib: [...TYPESCRIPT_LIBS_FOR_JS] } : OPTIONS,
    host: createHost(files),
  });
  const checker = program.getTypeChecker();
  for (const job of jobs) {
    const oldExports = exportsOf(program, checker, `/${job.item}/old/${job.old}`);
    const newExports = exportsOf(program, checker, `/${job.item}/new/${job.now}`);
    if (!oldExports || !newExports) continue;
    const where = `${job.kind}: ${job.old}`;
    const base = { entry: job.entry.specifier, where };
    for (const [name, oldSym] of oldExports) {
      const newSym = newExports.get(name);
      if (!newSym) {
        out[job.item]!.push({ kind: 'declaration-removed', subject: name, ...base });
        continue;
      }
      if (job.kind === 'types') {
        const change = compareSymbol(checker, name, resolve(checker, oldSym), resolve(checker, newSym));
        if (change) out[job.item]!.push({ ...change, ...base });
      }
    }
  }
  return out;
}

function sameFiles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [f, t] of a) if (b.get(f) !== t) return false;
  return true;
}

function exportsOf(
  program: ts.Program,
  checker: ts.TypeChecker,
  file: string,
): Map<string, ts.Symbol> | undefined {
  const sf = program.getSourceFile(file);
  if (!sf) return undefined;
  // CommonJS JavaScript (`exports.x = ...`) has a module symbol the location lookup does not return.
  const moduleSymbol = checker.getSymbolAtLocation(sf) ?? (sf as { symbol?: ts.Symbol }).symbol;
  if (!moduleSymbol) return new Map(); // a script without exports
  return new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
}

function resolve(checker: ts.TypeChecker, s: ts.Symbol): ts.Symbol {
  return s.flags & tsc.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

type Change = Omit<InterfaceChange, 'entry' | 'where'>;

function compareSymbol(
  checker: ts.TypeChecker,
  name: string,
  a: ts.Symbol,
  b: ts.Symbol,
): Change | undefined {
  const TypeLike =
    tsc.SymbolFlags.Interface | tsc.SymbolFlags.TypeAlias | tsc.SymbolFlags.Class | tsc.SymbolFlags.Enum;
  if (a.flags & tsc.SymbolFlags.Value && !(b.flags & tsc.SymbolFlags.Value))
    return { kind: 'declaration-removed', subject: `${name} (as a value)` };
  if (a.flags & TypeLike && !(b.flags & (TypeLike | tsc.SymbolFlags.Value)))
    return { kind: 'declaration-removed', subject: `${name} (as a type)` };

  if (a.flags & (tsc.SymbolFlags.Function | tsc.SymbolFlags.Variable | tsc.SymbolFlags.Class)) {
    const ta = checker.getTypeOfSymbol(a);
    const tb = checker.getTypeOfSymbol(b);
    for (const kind of [tsc.SignatureKind.Call, tsc.SignatureKind.Construct]) {
      const change = compareSignatures(
        checker,
        kind === tsc.SignatureKind.Construct ? `new ${name}` : name,
        checker.getSignaturesOfType(ta, kind),
        checker.getSignaturesOfType(tb, kind),
      );
      if (change) return change;
    }
  }
  if (a.flags & (tsc.SymbolFlags.Interface | tsc.SymbolFlags.Class)) {
    const ta = checker.getDeclaredTypeOfSymbol(a);
    const tb = checker.getDeclaredTypeOfSymbol(b);
    for (const prop of checker.getPropertiesOfType(ta)) {
      const next = checker.getPropertyOfType(tb, prop.name);
      if (!next) return { kind: 'property-removed', subject: `${name}.${prop.name}` };
      if (prop.flags & tsc.SymbolFlags.Optional && !(next.flags & tsc.SymbolFlags.Optional))
        return { kind: 'property-required', subject: `${name}.${prop.name}` };
    }
  }
  if (a.flags & tsc.SymbolFlags.TypeAlias && b.flags & tsc.SymbolFlags.TypeAlias) {
    const ta = checker.getDeclaredTypeOfSymbol(a);
    const tb = checker.getDeclaredTypeOfSymbol(b);
    if (!checker.isTypeAssignableTo(ta, tb)) {
      return {
        kind: 'type-narrowed',
        subject: name,
        from: short(checker.typeToString(ta, undefined, tsc.TypeFormatFlags.InTypeAlias)),
        to: short(checker.typeToString(tb, undefined, tsc.TypeFormatFlags.InTypeAlias)),
      };
    }
  }
  return undefined;
}

interface Params {
  required: number;
  total: number;
  rest: boolean;
  params: ts.Symbol[];
}

function paramsOf(checker: ts.TypeChecker, sig: ts.Signature): Params {
  const params = sig.getParameters();
  let required = 0;
  let rest = false;
  for (const p of params) {
    const decl = p.valueDeclaration;
    const optional =
      decl && tsc.isParameter(decl) ? checker.isOptionalParameter(decl) || !!decl.dotDotDotToken : false;
    if (decl && tsc.isParameter(decl) && decl.dotDotDotToken) rest = true;
    if (!optional) required++;
  }
  return { required, total: params.length, rest, params };
}

/**
 * Every old signature must still be callable the same way: some new signature takes no more
 * required arguments, still takes every argument the old one took, and accepts each old
 * parameter type.
 */
function compareSignatures(
  checker: ts.TypeChecker,
  name: string,
  before: readonly ts.Signature[],
  after: readonly ts.Signature[],
): Change | undefined {
  if (before.length === 0) return undefined;
  if (after.length === 0) return { kind: 'declaration-removed', subject: `${name}() (no longer callable)` };
  for (const oldSig of before) {
    const o = paramsOf(checker, oldSig);
    let firstProblem: Change | undefined;
    let compatible = false;
    for (const newSig of after) {
      const n = paramsOf(checker, newSig);
      let problem: Change | undefined;
      if (n.required > o.required) problem = { kind: 'parameter-required', subject: `${name}()` };
      else if (n.total < o.total && !n.rest) problem = { kind: 'parameter-removed', subject: `${name}()` };
      else {
        for (let i = 0; i < o.total && !problem; i++) {
          // A rest parameter's type is the array: comparing element types is not worth the noise.
          if ((n.rest && i >= n.total - 1) || (o.rest && i === o.total - 1)) break;
          const op = o.params[i]!;
          const np = n.params[Math.min(i, n.total - 1)]!;
          const ot = checker.getTypeOfSymbol(op);
          const nt = checker.getTypeOfSymbol(np);
          if (!checker.isTypeAssignableTo(ot, nt)) {
            const from = short(checker.typeToString(ot));
            const to = short(checker.typeToString(nt));
            // Same text, other declaration (`Options` got a required property): the names say
            // nothing, the change to that type is reported under its own name.
            problem = {
              kind: 'type-narrowed',
              subject: `${name}(${op.name})`,
              ...(from === to ? {} : { from, to }),
            };
          }
        }
      }
      if (!problem) {
        compatible = true;
        break;
      }
      firstProblem ??= problem;
    }
    if (!compatible) return firstProblem;
  }
  return undefined;
}
