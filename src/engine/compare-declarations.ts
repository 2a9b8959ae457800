// Compares the exported declarations of two versions of a package with the TypeScript compiler
// API. Both versions are loaded into ONE in-memory program (under /old/ and /new/), so the checker
// can ask whether an old type is assignable to the new one. Files come from the unpacked tarballs;
// nothing is read from disk but TypeScript's own lib files, which are parsed once per process.
import ts from 'typescript';
import type { EntryPoint } from '../policy/package-interface.js';
import type { InterfaceChange } from '../policy/semver-honesty.js';

export interface DeclarationSide {
  /** File texts by package-relative path. */
  texts: ReadonlyMap<string, string>;
  entries: readonly EntryPoint[];
}

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  // No lib.dom: it costs more to parse than a whole comparison, and a DOM type left unresolved
  // compares as `any`, which can only hide a change, never invent one.
  lib: ['lib.es2022.d.ts'],
  types: [],
  noEmit: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: false,
  strict: true,
};

// lib.*.d.ts are the same for every comparison: parse them once.
const libFiles = new Map<string, ts.SourceFile | undefined>();
const libDir = ts.sys.getExecutingFilePath().replace(/[^/\\]+$/, '');

function createHost(files: Map<string, string>): ts.CompilerHost {
  const dirs = new Set<string>();
  for (const f of files.keys()) {
    for (let d = f.slice(0, f.lastIndexOf('/')); d.length > 0; d = d.slice(0, d.lastIndexOf('/')))
      dirs.add(d);
  }
  const isLib = (f: string) => f.startsWith(libDir);
  return {
    fileExists: (f) => files.has(f) || (isLib(f) && ts.sys.fileExists(f)),
    readFile: (f) => files.get(f) ?? (isLib(f) ? ts.sys.readFile(f) : undefined),
    directoryExists: (d) => dirs.has(d.replace(/\/$/, '')) || (isLib(d) && ts.sys.directoryExists(d)),
    getDirectories: () => [],
    getSourceFile: (f, languageVersion) => {
      if (isLib(f)) {
        if (!libFiles.has(f)) {
          const text = ts.sys.readFile(f);
          libFiles.set(f, text === undefined ? undefined : ts.createSourceFile(f, text, languageVersion));
        }
        return libFiles.get(f);
      }
      const text = files.get(f);
      return text === undefined ? undefined : ts.createSourceFile(f, text, languageVersion);
    },
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    getDefaultLibLocation: () => libDir,
    writeFile: () => {},
    getCurrentDirectory: () => '/',
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
  };
}

const short = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text);

export function compareDeclarations(before: DeclarationSide, after: DeclarationSide): InterfaceChange[] {
  const pairs: { entry: EntryPoint; old: string; now: string; kind: 'types' | 'js' }[] = [];
  for (const entry of before.entries) {
    const next = after.entries.find((e) => e.subpath === entry.subpath);
    if (!next) continue; // a removed subpath is reported from the exports map
    if (entry.types && next.types) pairs.push({ entry, old: entry.types, now: next.types, kind: 'types' });
    else if (!entry.types && !next.types && entry.js && next.js)
      pairs.push({ entry, old: entry.js, now: next.js, kind: 'js' });
  }
  if (pairs.length === 0) return [];

  const files = new Map<string, string>();
  for (const [f, t] of before.texts) files.set(`/old/${f}`, t);
  for (const [f, t] of after.texts) files.set(`/new/${f}`, t);
  const roots = pairs.flatMap((p) => [`/old/${p.old}`, `/new/${p.now}`]).filter((f) => files.has(f));
  // JavaScript entries are read for their export names only: their imports are not followed.
  const jsOnly = pairs.every((p) => p.kind === 'js');
  const program = ts.createProgram({
    rootNames: roots,
    options: jsOnly ? { ...OPTIONS, noResolve: true, lib: ['lib.es5.d.ts'] } : OPTIONS,
    host: createHost(files),
  });
  const checker = program.getTypeChecker();
  const out: InterfaceChange[] = [];
  for (const pair of pairs) {
    const oldExports = exportsOf(program, checker, `/old/${pair.old}`);
    const newExports = exportsOf(program, checker, `/new/${pair.now}`);
    if (!oldExports || !newExports) continue;
    const where = `${pair.kind}: ${pair.old}`;
    const base = { entry: pair.entry.specifier, where };
    for (const [name, oldSym] of oldExports) {
      const newSym = newExports.get(name);
      if (!newSym) {
        out.push({ kind: 'declaration-removed', subject: name, ...base });
        continue;
      }
      if (pair.kind === 'types') {
        const change = compareSymbol(checker, name, resolve(checker, oldSym), resolve(checker, newSym));
        if (change) out.push({ ...change, ...base });
      }
    }
  }
  return out;
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
  return s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

type Change = Omit<InterfaceChange, 'entry' | 'where'>;

function compareSymbol(
  checker: ts.TypeChecker,
  name: string,
  a: ts.Symbol,
  b: ts.Symbol,
): Change | undefined {
  const TypeLike =
    ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum;
  if (a.flags & ts.SymbolFlags.Value && !(b.flags & ts.SymbolFlags.Value))
    return { kind: 'declaration-removed', subject: `${name} (as a value)` };
  if (a.flags & TypeLike && !(b.flags & (TypeLike | ts.SymbolFlags.Value)))
    return { kind: 'declaration-removed', subject: `${name} (as a type)` };

  if (a.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable | ts.SymbolFlags.Class)) {
    const ta = checker.getTypeOfSymbol(a);
    const tb = checker.getTypeOfSymbol(b);
    for (const kind of [ts.SignatureKind.Call, ts.SignatureKind.Construct]) {
      const change = compareSignatures(
        checker,
        kind === ts.SignatureKind.Construct ? `new ${name}` : name,
        checker.getSignaturesOfType(ta, kind),
        checker.getSignaturesOfType(tb, kind),
      );
      if (change) return change;
    }
  }
  if (a.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
    const ta = checker.getDeclaredTypeOfSymbol(a);
    const tb = checker.getDeclaredTypeOfSymbol(b);
    for (const prop of checker.getPropertiesOfType(ta)) {
      const next = checker.getPropertyOfType(tb, prop.name);
      if (!next) return { kind: 'property-removed', subject: `${name}.${prop.name}` };
      if (prop.flags & ts.SymbolFlags.Optional && !(next.flags & ts.SymbolFlags.Optional))
        return { kind: 'property-required', subject: `${name}.${prop.name}` };
    }
  }
  if (a.flags & ts.SymbolFlags.TypeAlias && b.flags & ts.SymbolFlags.TypeAlias) {
    const ta = checker.getDeclaredTypeOfSymbol(a);
    const tb = checker.getDeclaredTypeOfSymbol(b);
    if (!checker.isTypeAssignableTo(ta, tb)) {
      return {
        kind: 'type-narrowed',
        subject: name,
        from: short(checker.typeToString(ta, undefined, ts.TypeFormatFlags.InTypeAlias)),
        to: short(checker.typeToString(tb, undefined, ts.TypeFormatFlags.InTypeAlias)),
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
      decl && ts.isParameter(decl) ? checker.isOptionalParameter(decl) || !!decl.dotDotDotToken : false;
    if (decl && ts.isParameter(decl) && decl.dotDotDotToken) rest = true;
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
            problem = {
              kind: 'type-narrowed',
              subject: `${name}(${op.name})`,
              from: short(checker.typeToString(ot)),
              to: short(checker.typeToString(nt)),
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
