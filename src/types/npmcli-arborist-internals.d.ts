// Arborist's own dep-flag helpers, used as buildIdealTree uses them (resolve-update.ts); Arborist
// has no exports map, so they are importable, and its types do not declare them.
declare module '@npmcli/arborist/lib/calc-dep-flags.js' {
  import type Arborist from '@npmcli/arborist';

  const calcDepFlags: (tree: Arborist.Node, resetRoot?: boolean) => void;
  export default calcDepFlags;
}
declare module '@npmcli/arborist/lib/reset-dep-flags.js' {
  import type Arborist from '@npmcli/arborist';

  const resetDepFlags: (tree: Arborist.Node) => void;
  export default resetDepFlags;
}
