// Maps lockfile locations to the line where they are written, so findings can point at the
// exact spot in a pull request. One pass over the text with a tiny JSON-aware scanner: a
// 4,000-entry lockfile has 100,000+ lines and per-key searching would be quadratic.

/** What the scanner is inside of, and what a key found there means. */
type Role =
  | 'root'
  /** The lv2/lv3 `packages` map: its keys are locations. */
  | 'packages'
  /** An lv1 `dependencies` map whose keys are package names under `prefix`. */
  | 'v1-deps'
  /** One lv1 entry; its own `dependencies` key nests the tree one level deeper. */
  | 'v1-entry'
  | 'other';

interface Frame {
  role: Role;
  isObject: boolean;
  /** Location of the lv1 entry (for `v1-entry`) or of the parent entry (for `v1-deps`). */
  location: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * Line (1-based) of every location key of a lockfile: the keys of the `packages` map
 * (`node_modules/a`, `node_modules/@s/b`, `packages/x`), or, for a lockfile with no `packages`
 * map (lockfileVersion 1), the nested `dependencies` entries mapped to the same location
 * form Arborist uses (`node_modules/a/node_modules/b`). lockfileVersion 2 has both sections;
 * the `packages` one wins. Expects valid JSON (validate first); on broken text it returns
 * whatever it found before the damage.
 */
export function locateLockfileLines(text: string): Map<string, number> {
  const packages = new Map<string, number>();
  const v1 = new Map<string, number>();
  const stack: Frame[] = [];
  let line = 1;
  let pendingKey: string | undefined;
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
        const key = raw.includes('\\') ? decodeJsonString(raw) : raw;
        pendingKey = key;
        if (top.role === 'packages') {
          packages.set(key, line);
        } else if (top.role === 'v1-deps') {
          v1.set(v1Location(top.location, key), line);
        }
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const isObject = c === OPEN_BRACE;
      const parent = stack[stack.length - 1];
      const frame: Frame = { role: 'other', isObject, location: '' };
      if (parent === undefined) {
        frame.role = isObject ? 'root' : 'other';
      } else if (isObject && parent.isObject && pendingKey !== undefined) {
        if (parent.role === 'root' && pendingKey === 'packages') {
          frame.role = 'packages';
          sawPackages = true;
        } else if (parent.role === 'root' && pendingKey === 'dependencies') {
          frame.role = 'v1-deps';
        } else if (parent.role === 'v1-deps') {
          frame.role = 'v1-entry';
          frame.location = v1Location(parent.location, pendingKey);
        } else if (parent.role === 'v1-entry' && pendingKey === 'dependencies') {
          frame.role = 'v1-deps';
          frame.location = parent.location;
        }
      }
      stack.push(frame);
      expectKey = isObject;
      pendingKey = undefined;
      i++;
      continue;
    }
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      expectKey = false;
      pendingKey = undefined;
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
      pendingKey = undefined;
      i++;
      continue;
    }
    i++;
  }
  return sawPackages ? packages : v1;
}

function v1Location(parentLocation: string, name: string): string {
  return parentLocation === '' ? `node_modules/${name}` : `${parentLocation}/node_modules/${name}`;
}

/** Index of the closing quote of a string whose content starts at `start`. */
function findStringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q === -1) return text.length;
    // A quote preceded by an odd number of backslashes is escaped.
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

function decodeJsonString(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
