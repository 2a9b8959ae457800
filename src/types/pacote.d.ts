// The part of pacote lockwarden uses (pacote ships no types): the manifest a spec resolves to,
// picked the way Arborist picks it.
declare module 'pacote' {
  const pacote: {
    manifest(spec: unknown, opts?: Record<string, unknown>): Promise<Record<string, unknown>>;
  };
  export default pacote;
}
