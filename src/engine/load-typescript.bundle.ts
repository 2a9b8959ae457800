// load-typescript.ts for the Action's bundle: the compiler is bundled in (and evaluated only when
// a comparison first runs, since compare-declarations.ts is imported lazily). Its lib files are
// not in the bundle: global types such as Promise compare as `any` there, which can hide a change
// in a parameter of such a type but never invent one.
import ts from 'typescript';

export function loadTypeScript(): typeof import('typescript') {
  return ts;
}
