// The virtual module scripts/build-action.mjs generates for the Action's bundle: TypeScript's lib
// files by file name (load-typescript.bundle.ts).
declare module 'lockwarden:typescript-libs' {
  const libs: Record<string, string>;
  export default libs;
}
