// The wider list of established package names (data/known-packages.json): the names ranked
// below the popular list's cut-off, down to about the 200,000th most downloaded, without counts.
// A name on it has been downloaded for months under its own name, so it is no fresh squat;
// look-alikes among them that the registry shows are squats (security placeholders, one-version
// copies living off typo traffic) were left off when the list was generated.
//
// The names arrive as one sorted, newline-separated text and are looked up by binary search
// over that text: no Set of 180,000 strings to build, which is what keeps `lockwarden check`
// within its start-up budget.

export interface KnownNames {
  /** Number of names. */
  readonly size: number;
  has(name: string): boolean;
}

export const NO_KNOWN_NAMES: KnownNames = { size: 0, has: () => false };

/**
 * Looks names up in `text`: names sorted by UTF-16 code units (JavaScript's default sort),
 * one a line, no empty lines. The generator writes them so and a unit test checks the shipped
 * file; checking the order here would cost every start-up a pass over the whole text.
 */
export function createKnownNames(text: string): KnownNames {
  if (text.length === 0) return NO_KNOWN_NAMES;
  let size = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) size++;
  return {
    size,
    has(name: string): boolean {
      if (name.length === 0 || name.includes('\n')) return false;
      let low = 0;
      let high = text.length;
      // Invariant: a line equal to `name` starts in [low, high).
      while (low < high) {
        const mid = (low + high) >>> 1;
        const start = text.lastIndexOf('\n', mid - 1) + 1;
        const newline = text.indexOf('\n', start);
        const end = newline === -1 ? text.length : newline;
        const line = text.slice(start, end);
        if (line === name) return true;
        if (line < name) low = end + 1;
        else high = start;
      }
      return false;
    },
  };
}
