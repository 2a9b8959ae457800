// The projects `npm run bench:proxy` installs, as packuments for the fake upstream.

/**
 * 70 packages: 10 direct dependencies, each pulling 6 more (some shared), every package with an
 * old allowed version and a young one the policy hides.
 */
export function makeInstallProject(helpers, age, prefix = 'proj-pkg-') {
  const names = Array.from({ length: 70 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  const packuments = names.map((name, i) => {
    const deps = {};
    if (i < 10) for (let k = 0; k < 6; k++) deps[names[10 + ((i * 6 + k) % 60)]] = '^1.0.0';
    return helpers.makePackument({
      name,
      versions: [
        { version: '1.0.0', publishedAt: age(200), dependencies: deps },
        { version: '1.1.0', publishedAt: age(100), dependencies: deps },
        { version: '1.2.0', publishedAt: age(2), dependencies: deps },
      ],
      targetBytes: 8 * 1024,
    });
  });
  const dependencies = Object.fromEntries(names.slice(0, 10).map((n) => [n, '^1.0.0']));
  return { packuments, dependencies, count: names.length };
}

/**
 * A project whose installed tree differs from its packages' latest versions: each direct
 * dependency asks for `^1` of a library whose latest (2.x) depends on a tree of decoys the install
 * never needs. Prefetch that follows latest versions fetches the decoys; following ranges does not.
 */
export function makePrefetchProject(helpers, age) {
  const packuments = [];
  const dependencies = {};
  let decoys = 0;
  for (let i = 0; i < 10; i++) {
    const top = `pf-top-${i}`;
    const lib = `pf-lib-${i}`;
    dependencies[top] = '^1.0.0';
    packuments.push(
      helpers.makePackument({
        name: top,
        versions: [{ version: '1.0.0', publishedAt: age(100), dependencies: { [lib]: '^1.0.0' } }],
      }),
    );
    const decoyDeps = {};
    for (let k = 0; k < 5; k++) {
      const decoy = `pf-decoy-${i}-${k}`;
      decoyDeps[decoy] = '^1.0.0';
      const leaves = {};
      for (let m = 0; m < 3; m++) {
        const leaf = `pf-decoy-${i}-${k}-${m}`;
        leaves[leaf] = '^1.0.0';
        packuments.push(
          helpers.makePackument({ name: leaf, versions: [{ version: '1.0.0', publishedAt: age(100) }] }),
        );
        decoys++;
      }
      packuments.push(
        helpers.makePackument({
          name: decoy,
          versions: [{ version: '1.0.0', publishedAt: age(100), dependencies: leaves }],
        }),
      );
      decoys++;
    }
    packuments.push(
      helpers.makePackument({
        name: lib,
        versions: [
          { version: '1.0.0', publishedAt: age(200) },
          { version: '2.0.0', publishedAt: age(100), dependencies: decoyDeps },
        ],
      }),
    );
  }
  return { packuments, dependencies, installed: 20, decoys };
}
