// .t2-tmp.mts
import Arborist2 from "@npmcli/arborist";
import { readFileSync } from "node:fs";

// src/lockfile/read-lockfile.ts
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Arborist from "@npmcli/arborist";
import npa from "npm-package-arg";
import semver from "semver";

// src/errors.ts
var ERROR_CODES = {
  /** A command-line flag or argument is wrong. */
  EUSAGE: 2,
  /** The policy file is missing, unreadable or invalid. */
  EPOLICY: 2,
  /** The lockfile is missing, unreadable or malformed. */
  ELOCKFILE: 2,
  /** A configuration value (URL, env variable, npm config) is invalid. */
  ECONFIG: 2,
  /** A package name or spec is not a valid npm name. */
  EINVALIDNAME: 2,
  /** Facts could not be fetched and the policy blocks on unavailable facts. */
  EUNAVAILABLE: 3,
  /** Action inputs are wrong. */
  EINPUT: 2,
  /** The lockwarden service answered with an error. */
  ESERVICE: 3
};
var LockwardenError = class extends Error {
  code;
  /** Extra structured detail (file, key path, per-problem list). */
  details;
  constructor(code, message, options) {
    super(message, options?.cause === void 0 ? void 0 : { cause: options.cause });
    this.name = "LockwardenError";
    this.code = code;
    this.details = options?.details;
  }
  get exitCode() {
    return ERROR_CODES[this.code];
  }
};
function isLockwardenError(err) {
  return err instanceof LockwardenError;
}

// src/lockfile/locate-lines.ts
var QUOTE = 34;
var BACKSLASH = 92;
var NEWLINE = 10;
var OPEN_BRACE = 123;
var CLOSE_BRACE = 125;
var OPEN_BRACKET = 91;
var CLOSE_BRACKET = 93;
var COLON = 58;
var COMMA = 44;
function locateLockfileLines(text) {
  const packages = /* @__PURE__ */ new Map();
  const v1 = /* @__PURE__ */ new Map();
  const stack = [];
  let line = 1;
  let pendingKey;
  let expectKey = false;
  let sawPackages = false;
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === NEWLINE) {
      line++;
      i++;
      continue;
    }
    if (c === QUOTE) {
      const end = findStringEnd(text, i + 1);
      const top = stack[stack.length - 1];
      if (top?.isObject && expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? decodeJsonString(raw) : raw;
        pendingKey = key;
        if (top.role === "packages") {
          packages.set(key, line);
        } else if (top.role === "v1-deps") {
          v1.set(v1Location(top.location, key), line);
        }
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const isObject = c === OPEN_BRACE;
      const parent = stack[stack.length - 1];
      const frame = { role: "other", isObject, location: "" };
      if (parent === void 0) {
        frame.role = isObject ? "root" : "other";
      } else if (isObject && parent.isObject && pendingKey !== void 0) {
        if (parent.role === "root" && pendingKey === "packages") {
          frame.role = "packages";
          sawPackages = true;
        } else if (parent.role === "root" && pendingKey === "dependencies") {
          frame.role = "v1-deps";
        } else if (parent.role === "v1-deps") {
          frame.role = "v1-entry";
          frame.location = v1Location(parent.location, pendingKey);
        } else if (parent.role === "v1-entry" && pendingKey === "dependencies") {
          frame.role = "v1-deps";
          frame.location = parent.location;
        }
      }
      stack.push(frame);
      expectKey = isObject;
      pendingKey = void 0;
      i++;
      continue;
    }
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      expectKey = false;
      pendingKey = void 0;
      i++;
      continue;
    }
    if (c === COLON) {
      expectKey = false;
      i++;
      continue;
    }
    if (c === COMMA) {
      expectKey = stack[stack.length - 1]?.isObject === true;
      pendingKey = void 0;
      i++;
      continue;
    }
    i++;
  }
  return sawPackages ? packages : v1;
}
function v1Location(parentLocation, name) {
  return parentLocation === "" ? `node_modules/${name}` : `${parentLocation}/node_modules/${name}`;
}
function findStringEnd(text, start) {
  let j = start;
  for (; ; ) {
    const q = text.indexOf('"', j);
    if (q === -1) return text.length;
    let backslashes = 0;
    let k = q - 1;
    while (k >= start && text.charCodeAt(k) === BACKSLASH) {
      backslashes++;
      k--;
    }
    if (backslashes % 2 === 0) return q;
    j = q + 1;
  }
}
function decodeJsonString(raw) {
  try {
    return JSON.parse(`"${raw}"`);
  } catch {
    return raw;
  }
}

// src/lockfile/parse-lockfile-text.ts
var KNOWN_LOCKFILE_VERSIONS = [1, 2, 3];
var STRING_FIELDS = ["version", "resolved", "integrity", "name"];
function parseLockfileText(text, file) {
  let parsed;
  try {
    parsed = JSON.parse(stripBom(text));
  } catch (err) {
    throw new LockwardenError("ELOCKFILE", `${file}: invalid JSON${describeJsonError(text, err)}`, {
      cause: err
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new LockwardenError("ELOCKFILE", `${file}: expected a JSON object, found ${kindOf(parsed)}`);
  }
  const doc = parsed;
  const warnings = [];
  const { packages, dependencies, lockfileVersion: rawVersion } = doc;
  if (packages !== void 0 && !isPlainObject(packages)) {
    throw new LockwardenError("ELOCKFILE", `${file}: "packages" must be an object, found ${kindOf(packages)}`);
  }
  if (dependencies !== void 0 && !isPlainObject(dependencies)) {
    throw new LockwardenError(
      "ELOCKFILE",
      `${file}: "dependencies" must be an object, found ${kindOf(dependencies)}`
    );
  }
  let lockfileVersion;
  if (rawVersion === void 0) {
    if (dependencies === void 0) {
      throw new LockwardenError(
        "ELOCKFILE",
        `${file}: no "lockfileVersion" and no "dependencies"; this is not a package lock (run npm install --package-lock-only)`
      );
    }
    lockfileVersion = 1;
  } else if (typeof rawVersion !== "number" || !Number.isInteger(rawVersion) || rawVersion < 1) {
    throw new LockwardenError(
      "ELOCKFILE",
      `${file}: "lockfileVersion" must be a positive integer, found ${JSON.stringify(rawVersion)}`
    );
  } else {
    lockfileVersion = rawVersion;
  }
  if (!KNOWN_LOCKFILE_VERSIONS.includes(lockfileVersion)) {
    warnings.push(
      `${file}: lockfileVersion ${lockfileVersion} is newer than the versions this reader knows (1-3); read as version 3`
    );
  }
  if (lockfileVersion >= 2 && packages === void 0) {
    if (lockfileVersion >= 3 || dependencies === void 0) {
      throw new LockwardenError(
        "ELOCKFILE",
        `${file}: lockfileVersion ${lockfileVersion} needs a "packages" object and there is none`
      );
    }
    warnings.push(`${file}: lockfileVersion ${lockfileVersion} without "packages"; read the "dependencies" tree`);
  }
  if (packages !== void 0) {
    for (const [key, entry] of Object.entries(packages)) {
      checkEntry(file, `packages[${JSON.stringify(key)}]`, entry);
    }
  } else if (dependencies !== void 0) {
    checkV1Tree(file, dependencies);
  }
  const name = typeof doc.name === "string" ? doc.name : void 0;
  return {
    document: {
      lockfileVersion,
      ...name === void 0 ? {} : { name },
      ...packages === void 0 ? {} : { packages },
      ...dependencies === void 0 ? {} : { dependencies }
    },
    warnings
  };
}
function checkEntry(file, where, entry) {
  if (!isPlainObject(entry)) {
    throw new LockwardenError("ELOCKFILE", `${file}: ${where} must be an object, found ${kindOf(entry)}`);
  }
  for (const field of STRING_FIELDS) {
    const value = entry[field];
    if (value !== void 0 && typeof value !== "string") {
      throw new LockwardenError(
        "ELOCKFILE",
        `${file}: ${where}.${field} must be a string, found ${kindOf(value)}`
      );
    }
  }
}
function checkV1Tree(file, root) {
  const pending = [{ where: "dependencies", deps: root }];
  for (let next = pending.pop(); next !== void 0; next = pending.pop()) {
    for (const [name, entry] of Object.entries(next.deps)) {
      const where = `${next.where}[${JSON.stringify(name)}]`;
      checkEntry(file, where, entry);
      const nested = entry.dependencies;
      if (nested === void 0) continue;
      if (!isPlainObject(nested)) {
        throw new LockwardenError(
          "ELOCKFILE",
          `${file}: ${where}.dependencies must be an object, found ${kindOf(nested)}`
        );
      }
      pending.push({ where: `${where}.dependencies`, deps: nested });
    }
  }
}
function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
function kindOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}
function stripBom(text) {
  return text.charCodeAt(0) === 65279 ? text.slice(1) : text;
}
function describeJsonError(text, err) {
  const message = err instanceof Error ? err.message : String(err);
  const reason = message.replace(/, ".*" is not valid JSON$/s, "").replace(/ (?:in|after) JSON at position \d+.*$/s, "").replace(/\s*\(line \d+ column \d+\)\s*$/, "");
  const offset = findJsonErrorOffset(text);
  if (offset === void 0) return `: ${reason}`;
  const { line, col } = lineColAt(text, offset);
  return ` at line ${line} col ${col}: ${reason}`;
}
var NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
var LITERALS = ["true", "false", "null"];
function findJsonErrorOffset(text) {
  const n = text.length;
  const stack = [];
  let state = "value";
  let i = text.charCodeAt(0) === 65279 ? 1 : 0;
  for (; ; ) {
    while (i < n && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "	")) i++;
    if (i >= n) return stack.length === 0 && state === "after" ? void 0 : n;
    const c = text[i];
    switch (state) {
      case "value-or-end":
      case "value": {
        if (state === "value-or-end" && c === "]") {
          stack.pop();
          i++;
          state = "after";
        } else if (c === "{") {
          stack.push("{");
          i++;
          state = "key-or-end";
        } else if (c === "[") {
          stack.push("[");
          i++;
          state = "value-or-end";
        } else if (c === '"') {
          const end = scanJsonString(text, i);
          if (end < 0) return -end - 1;
          i = end;
          state = "after";
        } else {
          const literal = LITERALS.find((word) => word[0] === c);
          if (literal !== void 0) {
            for (let k = 0; k < literal.length; k++) if (text[i + k] !== literal[k]) return i + k;
            i += literal.length;
          } else {
            NUMBER.lastIndex = i;
            if (!NUMBER.test(text)) return i;
            i = NUMBER.lastIndex;
          }
          state = "after";
        }
        break;
      }
      case "key-or-end":
      case "key": {
        if (state === "key-or-end" && c === "}") {
          stack.pop();
          i++;
          state = "after";
          break;
        }
        if (c !== '"') return i;
        const end = scanJsonString(text, i);
        if (end < 0) return -end - 1;
        i = end;
        state = "colon";
        break;
      }
      case "colon": {
        if (c !== ":") return i;
        i++;
        state = "value";
        break;
      }
      case "after": {
        const top = stack[stack.length - 1];
        if (top === void 0) return i;
        if (c === ",") state = top === "{" ? "key" : "value";
        else if (top === "{" && c === "}" || top === "[" && c === "]") stack.pop();
        else return i;
        i++;
        break;
      }
    }
  }
}
function scanJsonString(text, start) {
  for (let j = start + 1; j < text.length; j++) {
    const code = text.charCodeAt(j);
    if (code === 34) return j + 1;
    if (code < 32) return -(j + 1);
    if (code === 92) {
      const next = text[j + 1];
      if (next === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return -(j + 1);
        j += 5;
      } else if (next !== void 0 && '"\\/bfnrt'.includes(next)) {
        j++;
      } else {
        return -(j + 1);
      }
    }
  }
  return -(text.length + 1);
}
function lineColAt(text, offset) {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

// src/lockfile/read-lockfile.ts
var SHRINKWRAP = "npm-shrinkwrap.json";
var PACKAGE_LOCK = "package-lock.json";
var MAX_LOCKFILE_BYTES = 256 * 1024 * 1024;
var EXAMPLES = 3;
async function readLockfile(dir, opts = {}) {
  const root = path.resolve(dir);
  const lockfile = opts.lockfile === void 0 ? await findLockfile(root) : path.resolve(root, opts.lockfile);
  const display = path.relative(root, lockfile) || path.basename(lockfile);
  const text = await readText(lockfile, display);
  const lockDir = path.dirname(lockfile);
  if (await arboristPicks(lockDir) === path.basename(lockfile)) {
    return loadInventory({ projectDir: lockDir, text, file: lockfile, display, fallbackRoot: path.basename(lockDir) });
  }
  const packageJson = await readOptionalText(path.join(lockDir, "package.json"));
  const inventory = await readLockfileText(text, packageJson, display);
  return { ...inventory, file: lockfile };
}
async function readLockfileText(lockfileText, packageJsonText, name) {
  const fileName = path.basename(name) === SHRINKWRAP ? SHRINKWRAP : PACKAGE_LOCK;
  const tempDir = await mkdtemp(path.join(tmpdir(), "lockwarden-lockfile-"));
  try {
    if (packageJsonText !== void 0) {
      const packageJsonName = path.join(path.dirname(name), "package.json");
      try {
        JSON.parse(packageJsonText);
      } catch (err) {
        throw new LockwardenError("ELOCKFILE", `${packageJsonName}: invalid JSON (${err.message})`, {
          cause: err
        });
      }
      await writeFile(path.join(tempDir, "package.json"), packageJsonText);
    }
    await writeFile(path.join(tempDir, fileName), lockfileText);
    return await loadInventory({
      projectDir: tempDir,
      text: lockfileText,
      file: name,
      display: name,
      fallbackRoot: path.basename(path.dirname(path.resolve(name)))
    });
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}
async function findLockfile(root) {
  const picked = await arboristPicks(root);
  if (picked === void 0) {
    throw new LockwardenError(
      "ELOCKFILE",
      `no ${PACKAGE_LOCK} or ${SHRINKWRAP} in ${root}; run npm install --package-lock-only`
    );
  }
  return path.join(root, picked);
}
async function arboristPicks(dir) {
  for (const name of [SHRINKWRAP, PACKAGE_LOCK]) {
    if (await isFile(path.join(dir, name))) return name;
  }
  return void 0;
}
async function isFile(file) {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
async function readText(file, display) {
  let size;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new LockwardenError("ELOCKFILE", `${display}: not a file`);
    size = info.size;
  } catch (err) {
    if (isLockwardenError(err)) throw err;
    const code = err.code;
    if (code === "ENOENT") {
      throw new LockwardenError("ELOCKFILE", `${file}: no such lockfile; run npm install --package-lock-only`);
    }
    throw new LockwardenError("ELOCKFILE", `${file}: cannot read: ${err.message}`, { cause: err });
  }
  if (size > MAX_LOCKFILE_BYTES) {
    throw new LockwardenError(
      "ELOCKFILE",
      `${display}: ${size} bytes is larger than the ${MAX_LOCKFILE_BYTES} bytes a lockfile may have`
    );
  }
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new LockwardenError("ELOCKFILE", `${file}: cannot read: ${err.message}`, { cause: err });
  }
}
async function readOptionalText(file) {
  try {
    return await readFile(file, "utf8");
  } catch {
    return void 0;
  }
}
async function loadInventory(input) {
  const { document, warnings } = parseLockfileText(input.text, input.display);
  const lines = locateLockfileLines(input.text);
  let tree;
  try {
    tree = await new Arborist({ path: input.projectDir }).loadVirtual();
  } catch (err) {
    throw new LockwardenError(
      "ELOCKFILE",
      `${input.display}: npm's lockfile reader (Arborist) rejected it: ${err.message}`,
      { cause: err }
    );
  }
  const inventory = collectInventory(tree, document, lines, input);
  inventory.warnings.unshift(...warnings);
  return inventory;
}
function collectInventory(tree, document, lines, input) {
  const rootName = nonEmpty(tree.package?.name) ?? nonEmpty(document.name) ?? input.fallbackRoot;
  const warnings = [];
  const previous = shortestPaths(tree);
  const specTypes = /* @__PURE__ */ new Map();
  const unlocated = [];
  const unreachable = [];
  const mismatched = [];
  const locate = (node) => {
    const line = lines.get(node.location);
    if (line === void 0) unlocated.push(node.location);
    return { file: input.display, line: line ?? 1, key: node.location };
  };
  const pathOf = (node) => {
    const names = [];
    if (previous.has(node)) {
      for (let n = node; n && !n.isProjectRoot; n = previous.get(n)) {
        names.push(n.packageName);
      }
    } else {
      for (let n = node; n && !n.isProjectRoot; n = n.parent ?? n.fsParent) {
        names.push(n.isTop ? n.location : n.packageName);
      }
    }
    names.push(rootName);
    return names.reverse();
  };
  const byId = /* @__PURE__ */ new Map();
  const skipped = /* @__PURE__ */ new Map();
  const skip = (entry) => {
    const id = `${entry.name}\0${entry.spec}`;
    if (!skipped.has(id)) skipped.set(id, entry);
  };
  for (const node of tree.inventory.values()) {
    if (node.isProjectRoot) continue;
    if (node.isLink) {
      const target = node.target;
      const targetLocation = target?.location ?? node.realpath;
      skip({
        name: node.packageName,
        spec: node.isWorkspace ? "workspace" : `file:${toPosix(path.relative(tree.path, node.realpath))}`,
        reason: node.isWorkspace ? `workspace ${targetLocation}: local source, not from a registry` : `linked folder ${targetLocation}: local source, not from a registry`,
        location: locate(node)
      });
      continue;
    }
    if (node.isTop) {
      if (node.linksIn.size === 0) {
        skip({
          name: node.packageName,
          spec: `file:${node.location}`,
          reason: `local folder ${node.location} with no link to it (stale entry?): not from a registry`,
          location: locate(node)
        });
      }
      continue;
    }
    const inBundle = node.inBundle;
    const source = sourceOf(node, inBundle, tree.path, specTypes);
    if (source.kind !== "registry") {
      skip({ name: node.packageName, spec: source.spec, reason: SKIP_REASONS[source.kind], location: locate(node) });
      continue;
    }
    if (!node.version) {
      skip({
        name: node.packageName,
        spec: node.resolved ?? "",
        reason: "no version in the lockfile entry",
        location: locate(node)
      });
      continue;
    }
    if (node.resolved && !inBundle) {
      const mismatch = tarballMismatch(node.resolved, node.packageName, node.version);
      if (mismatch !== void 0) mismatched.push(`${node.location} (${node.packageName}@${node.version}) ${mismatch}`);
    }
    if (!previous.has(node)) unreachable.push(node.location);
    const location = locate(node);
    const id = `${node.packageName}@${node.version}`;
    const found = byId.get(id);
    if (found === void 0) {
      const entry2 = {
        name: node.packageName,
        version: node.version,
        ...node.name === node.packageName ? {} : { alias: node.name },
        locations: [location],
        path: pathOf(node),
        dev: node.dev,
        optional: node.optional,
        peer: node.peer,
        bundled: inBundle,
        ...node.resolved ? { resolved: node.resolved } : {},
        ...node.integrity ? { integrity: node.integrity } : {}
      };
      byId.set(id, { entry: entry2, firstLine: location.line });
      continue;
    }
    const entry = found.entry;
    entry.locations.push(location);
    entry.dev &&= node.dev;
    entry.optional &&= node.optional;
    entry.peer &&= node.peer;
    entry.bundled &&= inBundle;
    const candidatePath = pathOf(node);
    if (previous.has(node) && candidatePath.length < entry.path.length) entry.path = candidatePath;
    if (entry.alias === void 0 && node.name !== node.packageName) entry.alias = node.name;
    if (location.line < found.firstLine || entry.resolved === void 0 && node.resolved) {
      if (node.resolved) entry.resolved = node.resolved;
      if (node.integrity) entry.integrity = node.integrity;
      found.firstLine = Math.min(found.firstLine, location.line);
    }
  }
  warnings.push(...edgeWarnings(tree));
  if (unreachable.length > 0) {
    warnings.push(
      `${unreachable.length} lockfile entries are not reachable from the root (stale or extraneous?) e.g. ${examples(unreachable)}`
    );
  }
  if (mismatched.length > 0) {
    warnings.push(
      `${mismatched.length} entries resolve to a tarball of another package or version e.g. ${examples(mismatched)}`
    );
  }
  if (unlocated.length > 0) {
    warnings.push(
      `${unlocated.length} locations were not found in the lockfile text (line 1 reported) e.g. ${examples(unlocated)}`
    );
  }
  const nodeErrors = [...tree.inventory.values()].flatMap(
    (node) => (node.errors ?? []).map((err) => `${node.location || "(root)"}: ${err.message}`)
  );
  if (nodeErrors.length > 0) {
    warnings.push(`${nodeErrors.length} lockfile entries could not be read fully e.g. ${examples(nodeErrors)}`);
  }
  const entries = [...byId.values()].map(({ entry }) => {
    entry.locations.sort((a, b) => a.line - b.line || compareText(a.key, b.key));
    return entry;
  });
  entries.sort((a, b) => compareText(a.name, b.name) || compareVersions(a.version, b.version));
  const skippedList = [...skipped.values()].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.spec, b.spec)
  );
  return {
    file: input.file,
    lockfileVersion: document.lockfileVersion,
    root: rootName,
    entries,
    skipped: skippedList,
    warnings
  };
}
var SKIP_REASONS = {
  git: "git dependency: fetched from a git host, not from a registry",
  file: "local file dependency: not from a registry",
  remote: "remote tarball URL: not from a registry",
  unknown: "unrecognised source: not from a registry"
};
function shortestPaths(tree) {
  const previous = /* @__PURE__ */ new Map([[tree, null]]);
  const queue = [tree];
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head];
    for (const edge of from.edgesOut.values()) {
      let to = edge.to;
      if (to === null || to === void 0) continue;
      if (to.isLink) to = to.target;
      if (to === null || to === void 0 || previous.has(to)) continue;
      previous.set(to, from);
      queue.push(to);
    }
  }
  return previous;
}
function sourceOf(node, inBundle, rootPath, specTypes) {
  const resolved = node.resolved;
  if (resolved && !/^https?:/i.test(resolved)) {
    if (resolved.startsWith("file:")) {
      const target = resolved.slice("file:".length);
      const relative = path.isAbsolute(target) ? toPosix(path.relative(rootPath, target)) : target;
      return { kind: "file", spec: `file:${relative}` };
    }
    const type = specType(node.packageName, resolved, specTypes);
    return { kind: type === "git" ? "git" : "unknown", spec: resolved };
  }
  if (inBundle) return { kind: "registry" };
  for (const edge of node.edgesIn) {
    const type = specType(edge.name, edge.spec, specTypes);
    if (type === "git") return { kind: "git", spec: resolved || edge.spec };
    if (type === "remote") return { kind: "remote", spec: resolved || edge.spec };
    if (type === "file" || type === "directory") return { kind: "file", spec: edge.spec };
  }
  if (resolved && node.edgesIn.size === 0 && tarballMismatch(resolved, node.packageName, node.version) !== void 0) {
    return { kind: "remote", spec: resolved };
  }
  return { kind: "registry" };
}
function specType(name, spec, cache) {
  const id = `${name}\0${spec}`;
  if (cache.has(id)) return cache.get(id);
  let type;
  if (spec === "" || semver.validRange(spec, { loose: true }) !== null) {
    type = "range";
  } else {
    try {
      type = npa.resolve(name, spec).type;
    } catch {
      type = void 0;
    }
  }
  cache.set(id, type);
  return type;
}
function tarballMismatch(resolved, name, version) {
  const hostStart = resolved.indexOf("://");
  const pathStart = hostStart === -1 ? -1 : resolved.indexOf("/", hostStart + 3);
  if (pathStart === -1) return "is not a registry tarball URL";
  let pathname;
  try {
    pathname = decodeURIComponent(resolved.slice(pathStart).replace(/[?#].*$/s, ""));
  } catch {
    return "has an unparseable URL";
  }
  const marker = pathname.lastIndexOf("/-/");
  if (marker === -1) return "is not a registry tarball URL";
  const unscoped = name.startsWith("@") ? name.slice(name.indexOf("/") + 1) : name;
  const expected = `/${name}/-/${unscoped}-${version}.tgz`;
  if (pathname.endsWith(expected)) return void 0;
  return `resolves to ${pathname.slice(pathname.lastIndexOf("/", marker - 1) + 1)}`;
}
function edgeWarnings(tree) {
  const missing = [];
  const invalid = [];
  const ranges = /* @__PURE__ */ new Map();
  for (const node of tree.inventory.values()) {
    for (const edge of node.edgesOut.values()) {
      const from = node.location || "(root)";
      if (edge.to === null || edge.to === void 0) {
        if (!edge.optional && !edge.peer) missing.push(`${from} > ${edge.name}@${edge.spec}`);
      } else if (isInvalid(edge, edge.to, ranges)) {
        invalid.push(`${from} > ${edge.name}@${edge.spec} (found ${edge.to.version || "no version"})`);
      }
    }
  }
  const out = [];
  if (missing.length > 0) {
    out.push(`${missing.length} missing dependency edges (stale entries?) e.g. ${examples(missing)}`);
  }
  if (invalid.length > 0) {
    out.push(`${invalid.length} invalid dependency edges (version does not match the range) e.g. ${examples(invalid)}`);
  }
  return out;
}
function isInvalid(edge, to, ranges) {
  const spec = edge.spec;
  let range = ranges.get(spec);
  if (range === void 0) {
    range = parseRange(spec);
    ranges.set(spec, range);
  }
  if (range === null) return edge.invalid;
  if (!to.version) return true;
  return !range.test(to.version);
}
function parseRange(spec) {
  if (spec === "" || spec === "*") return new semver.Range("*", { loose: true });
  try {
    return new semver.Range(spec, { loose: true });
  } catch {
    return null;
  }
}
function examples(items) {
  const shown = items.slice(0, EXAMPLES).join(", ");
  return items.length > EXAMPLES ? `${shown}, ...` : shown;
}
function nonEmpty(value) {
  return typeof value === "string" && value !== "" ? value : void 0;
}
function toPosix(p) {
  return p.split(path.sep).join("/");
}
function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
function compareVersions(a, b) {
  const va = semver.valid(a, { loose: true });
  const vb = semver.valid(b, { loose: true });
  if (va !== null && vb !== null) return semver.compare(va, vb, { loose: true }) || compareText(a, b);
  return compareText(a, b);
}

// .t2-tmp.mts
var d = process.argv[2];
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  const text = readFileSync(d + "/package-lock.json", "utf8");
  parseLockfileText(text, "x");
  const tp = performance.now() - t;
  t = performance.now();
  const m = locateLockfileLines(text);
  const tl = performance.now() - t;
  t = performance.now();
  await new Arborist2({ path: d }).loadVirtual();
  const ta = performance.now() - t;
  t = performance.now();
  await readLockfile(d);
  const tr = performance.now() - t;
  console.log({ parse: tp.toFixed(1), locate: tl.toFixed(1), arborist: ta.toFixed(1), readLockfile: tr.toFixed(1), keys: m.size });
}
