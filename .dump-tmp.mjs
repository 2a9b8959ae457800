import Arborist from '@npmcli/arborist';
const tree = await new Arborist({ path: process.argv[2] }).loadVirtual();
console.log('meta', tree.meta?.filename, tree.meta?.originalLockfileVersion, tree.meta?.loadedFromDisk);
for (const n of tree.inventory.values()) {
  console.log(JSON.stringify({loc: n.location, name: n.name, pn: n.packageName, v: n.version, res: n.resolved, link: n.isLink, ws: n.isWorkspace, b: n.inBundle, dev: n.dev, opt: n.optional, peer: n.peer, devOpt: n.devOptional, errs: n.errors?.map(e=>e.message), target: n.isLink ? n.target?.location : undefined, ein: [...n.edgesIn].map(e=>`${e.from?.location}:${e.type}:${e.spec}:${e.error}`)}));
}
