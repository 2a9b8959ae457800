// Validates lockfile text before Arborist sees it. Arborist accepts some broken files silently
// (an empty object loads as an empty tree) and reports others with messages that do not say
// where the problem is; a guardrail must refuse a lockfile it cannot read, and say why.
import { LockwardenError } from '../errors.js';

/** The top-level shape lockwarden relies on; every other field is passed through untouched. */
export interface LockfileDocument {
  lockfileVersion: number;
  name?: string;
  packages?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
}

const KNOWN_LOCKFILE_VERSIONS = [1, 2, 3];
/** Fields of a lockfile entry Arborist reads as strings; anything else there breaks it. */
const STRING_FIELDS = ['version', 'resolved', 'integrity', 'name'] as const;

/**
 * Parses and checks a package-lock.json / npm-shrinkwrap.json. `file` names the lockfile in
 * error messages. Returns the document and warnings (e.g. a lockfileVersion newer than 3).
 */
export function parseLockfileText(
  text: string,
  file: string,
): { document: LockfileDocument; warnings: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripBom(text));
  } catch (err) {
    throw new LockwardenError('ELOCKFILE', `${file}: invalid JSON${describeJsonError(text, err)}`, {
      cause: err,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LockwardenError('ELOCKFILE', `${file}: expected a JSON object, found ${kindOf(parsed)}`);
  }
  const doc = parsed as Record<string, unknown>;
  const warnings: string[] = [];

  const { packages, dependencies, lockfileVersion: rawVersion } = doc;
  if (packages !== undefined && !isPlainObject(packages)) {
    throw new LockwardenError(
      'ELOCKFILE',
      `${file}: "packages" must be an object, found ${kindOf(packages)}`,
    );
  }
  if (dependencies !== undefined && !isPlainObject(dependencies)) {
    throw new LockwardenError(
      'ELOCKFILE',
      `${file}: "dependencies" must be an object, found ${kindOf(dependencies)}`,
    );
  }

  let lockfileVersion: number;
  if (rawVersion === undefined) {
    if (dependencies === undefined) {
      throw new LockwardenError(
        'ELOCKFILE',
        `${file}: no "lockfileVersion" and no "dependencies"; this is not a package lock (run npm install --package-lock-only)`,
      );
    }
    // npm 5 files without a version field are version 1 in every other respect.
    lockfileVersion = 1;
  } else if (typeof rawVersion !== 'number' || !Number.isInteger(rawVersion) || rawVersion < 1) {
    throw new LockwardenError(
      'ELOCKFILE',
      `${file}: "lockfileVersion" must be a positive integer, found ${JSON.stringify(rawVersion)}`,
    );
  } else {
    lockfileVersion = rawVersion;
  }
  if (!KNOWN_LOCKFILE_VERSIONS.includes(lockfileVersion)) {
    warnings.push(
      `${file}: lockfileVersion ${lockfileVersion} is newer than the versions this reader knows (1-3); read as version 3`,
    );
  }
  if (lockfileVersion >= 2 && packages === undefined) {
    if (lockfileVersion >= 3 || dependencies === undefined) {
      throw new LockwardenError(
        'ELOCKFILE',
        `${file}: lockfileVersion ${lockfileVersion} needs a "packages" object and there is none`,
      );
    }
    warnings.push(
      `${file}: lockfileVersion ${lockfileVersion} without "packages"; read the "dependencies" tree`,
    );
  }

  if (packages !== undefined) {
    for (const [key, entry] of Object.entries(packages)) {
      checkEntry(file, `packages[${JSON.stringify(key)}]`, entry);
    }
  } else if (dependencies !== undefined) {
    checkV1Tree(file, dependencies as Record<string, unknown>);
  }

  const name = typeof doc.name === 'string' ? doc.name : undefined;
  return {
    document: {
      lockfileVersion,
      ...(name === undefined ? {} : { name }),
      ...(packages === undefined ? {} : { packages: packages as Record<string, unknown> }),
      ...(dependencies === undefined ? {} : { dependencies: dependencies as Record<string, unknown> }),
    },
    warnings,
  };
}

function checkEntry(file: string, where: string, entry: unknown): void {
  if (!isPlainObject(entry)) {
    throw new LockwardenError('ELOCKFILE', `${file}: ${where} must be an object, found ${kindOf(entry)}`);
  }
  for (const field of STRING_FIELDS) {
    const value = entry[field];
    if (value !== undefined && typeof value !== 'string') {
      throw new LockwardenError(
        'ELOCKFILE',
        `${file}: ${where}.${field} must be a string, found ${kindOf(value)}`,
      );
    }
  }
}

/** lv1 nests entries; walk iteratively so a deeply nested hostile file cannot overflow the stack. */
function checkV1Tree(file: string, root: Record<string, unknown>): void {
  const pending: { where: string; deps: Record<string, unknown> }[] = [{ where: 'dependencies', deps: root }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const [name, entry] of Object.entries(next.deps)) {
      const where = `${next.where}[${JSON.stringify(name)}]`;
      checkEntry(file, where, entry);
      const nested = (entry as Record<string, unknown>).dependencies;
      if (nested === undefined) continue;
      if (!isPlainObject(nested)) {
        throw new LockwardenError(
          'ELOCKFILE',
          `${file}: ${where}.dependencies must be an object, found ${kindOf(nested)}`,
        );
      }
      pending.push({ where: `${where}.dependencies`, deps: nested });
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * ` at line N col M: <reason>` for text JSON.parse rejected. V8 gives an offset for some errors
 * and only a snippet for others ("Unexpected token '}', ..."), so the position comes from a
 * small validator of our own; the reason stays V8's.
 */
export function describeJsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const reason = message
    .replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '')
    .replace(/ (?:in|after) JSON at position \d+.*$/s, '')
    .replace(/\s*\(line \d+ column \d+\)\s*$/, '');
  const offset = findJsonErrorOffset(text);
  if (offset === undefined) return `: ${reason}`;
  const { line, col } = lineColAt(text, offset);
  return ` at line ${line} col ${col}: ${reason}`;
}

type ScanState = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'after';
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];

/** Offset of the first JSON syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonErrorOffset(text: string): number | undefined {
  const n = text.length;
  const stack: string[] = [];
  let state: ScanState = 'value';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
    if (i >= n) return stack.length === 0 && state === 'after' ? undefined : n;
    const c = text[i];
    switch (state) {
      case 'value-or-end':
      case 'value': {
        if (state === 'value-or-end' && c === ']') {
          stack.pop();
          i++;
          state = 'after';
        } else if (c === '{') {
          stack.push('{');
          i++;
          state = 'key-or-end';
        } else if (c === '[') {
          stack.push('[');
          i++;
          state = 'value-or-end';
        } else if (c === '"') {
          const end = scanJsonString(text, i);
          if (end < 0) return -end - 1;
          i = end;
          state = 'after';
        } else {
          const literal = LITERALS.find((word) => word[0] === c);
          if (literal !== undefined) {
            // Point at the first wrong letter, where V8 reports its unexpected token.
            for (let k = 0; k < literal.length; k++) if (text[i + k] !== literal[k]) return i + k;
            i += literal.length;
          } else {
            NUMBER.lastIndex = i;
            if (!NUMBER.test(text)) return i;
            i = NUMBER.lastIndex;
          }
          state = 'after';
        }
        break;
      }
      case 'key-or-end':
      case 'key': {
        if (state === 'key-or-end' && c === '}') {
          stack.pop();
          i++;
          state = 'after';
          break;
        }
        if (c !== '"') return i;
        const end = scanJsonString(text, i);
        if (end < 0) return -end - 1;
        i = end;
        state = 'colon';
        break;
      }
      case 'colon': {
        if (c !== ':') return i;
        i++;
        state = 'value';
        break;
      }
      case 'after': {
        const top = stack[stack.length - 1];
        if (top === undefined) return i;
        if (c === ',') state = top === '{' ? 'key' : 'value';
        else if ((top === '{' && c === '}') || (top === '[' && c === ']')) stack.pop();
        else return i;
        i++;
        break;
      }
    }
  }
}

/** End offset (after the closing quote) of the string opening at `start`, or -(errorOffset + 1). */
function scanJsonString(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    const code = text.charCodeAt(j);
    if (code === 0x22) return j + 1;
    if (code < 0x20) return -(j + 1);
    if (code === 0x5c) {
      const next = text[j + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return -(j + 1);
        j += 5;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        j++;
      } else {
        return -(j + 1);
      }
    }
  }
  return -(text.length + 1);
}

function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
