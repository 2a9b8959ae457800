// @yarnpkg/lockfile (yarn classic's own lockfile parser) ships no types; this is its parse().
declare module '@yarnpkg/lockfile' {
  type Parse = (
    text: string,
    fileLoc?: string,
  ) => { type: 'success' | 'merge' | 'conflict'; object: Record<string, unknown> };
  export const parse: Parse | undefined;
  const lockfile: { parse: Parse };
  export default lockfile;
}
