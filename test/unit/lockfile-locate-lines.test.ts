import { describe, expect, it } from 'vitest';
import { locateLockfileLines } from '../../src/lockfile/locate-lines.js';

/** Line (1-based) of the first line of `text` containing `needle`, searched from line `from`. */
function lineOf(text: string, needle: string, from = 1): number {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1;
  throw new Error(`${needle} not in text`);
}

describe('locateLockfileLines', () => {
  it('maps every packages key of a lockfileVersion 3 file to its line', () => {
    const text = `{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {
      "name": "app",
      "dependencies": { "a": "^1.0.0" }
    },
    "node_modules/@s/b": {
      "version": "1.0.0"
    },
    "node_modules/a": {
      "version": "1.0.0",
      "dependencies": {
        "node_modules/not-a-key": "^1.0.0"
      }
    },
    "node_modules/a/node_modules/c": { "version": "2.0.0" },
    "packages/x": { "version": "0.1.0" }
  }
}
`;
    expect(Object.fromEntries(locateLockfileLines(text))).toEqual({
      '': 5,
      'node_modules/@s/b': 9,
      'node_modules/a': 12,
      'node_modules/a/node_modules/c': 18,
      'packages/x': 19,
    });
  });

  it('annotates the packages section of a lockfileVersion 2 file, not its dependencies section', () => {
    const text = `{
  "lockfileVersion": 2,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "dependencies": {
        "b": { "version": "2.0.0" }
      }
    }
  },
  "packages": {
    "node_modules/a": { "version": "1.0.0" },
    "node_modules/a/node_modules/b": { "version": "2.0.0" }
  }
}`;
    const lines = locateLockfileLines(text);
    expect(Object.fromEntries(lines)).toEqual({
      'node_modules/a': lineOf(text, '"node_modules/a"'),
      'node_modules/a/node_modules/b': lineOf(text, '"node_modules/a/node_modules/b"'),
    });
  });

  it('maps nested lockfileVersion 1 dependencies to node_modules locations', () => {
    const text = `{
  "lockfileVersion": 1,
  "dependencies": {
    "@s/t": {
      "version": "1.0.0",
      "requires": { "a": "^1.0.0" }
    },
    "a": {
      "version": "1.0.0",
      "dependencies": {
        "b": {
          "version": "2.0.0",
          "dependencies": {
            "@s/c": { "version": "3.0.0" }
          }
        }
      }
    }
  }
}`;
    expect(Object.fromEntries(locateLockfileLines(text))).toEqual({
      'node_modules/@s/t': 4,
      'node_modules/a': 8,
      'node_modules/a/node_modules/b': 11,
      'node_modules/a/node_modules/b/node_modules/@s/c': 14,
    });
  });

  it.each([
    {
      what: 'escaped characters in keys',
      text: '{\n"packages": {\n"node_modules/\\u0061": {},\n"node_modules/q\\"x": {}\n}\n}',
      expected: { 'node_modules/a': 3, 'node_modules/q"x': 4 },
    },
    {
      what: 'braces, quotes and backslashes inside string values',
      text: '{\n"packages": {\n"node_modules/a": { "description": "{ \\"packages\\": [ \\\\",\n"x": "}" },\n"node_modules/b": {}\n}\n}',
      expected: { 'node_modules/a': 3, 'node_modules/b': 5 },
    },
    {
      what: 'a "packages" key below the top level',
      text: '{\n"meta": { "packages": { "node_modules/fake": {} } },\n"packages": {\n"node_modules/real": {}\n}\n}',
      expected: { 'node_modules/real': 4 },
    },
    {
      what: 'minified text (all on line 1)',
      text: '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0"},"node_modules/b":{}}}',
      expected: { '': 1, 'node_modules/a': 1, 'node_modules/b': 1 },
    },
    {
      what: 'CRLF line endings',
      text: '{\r\n"packages": {\r\n"node_modules/a": {}\r\n}\r\n}\r\n',
      expected: { 'node_modules/a': 3 },
    },
    { what: 'a top-level array', text: '[{"packages": {"node_modules/a": {}}}]', expected: {} },
    {
      what: 'truncated text',
      text: '{\n"packages": {\n"node_modules/a": {\n"ver',
      expected: { 'node_modules/a': 3 },
    },
  ])('handles $what', ({ text, expected }) => {
    expect(Object.fromEntries(locateLockfileLines(text))).toEqual(expected);
  });

  it('locates 5,000 entries in one pass', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => [
      i % 2 === 0 ? `node_modules/pkg-${i}` : `node_modules/@scope/pkg-${i - 1}/node_modules/dep-${i}`,
      {
        version: `1.0.${i}`,
        resolved: `http://127.0.0.1:4873/pkg-${i}/-/pkg-${i}-1.0.${i}.tgz`,
        dependencies: { x: '^1' },
      },
    ]);
    const text = JSON.stringify({ lockfileVersion: 3, packages: Object.fromEntries(entries) }, null, 2);
    // CPU time, not wall time: a loaded machine stretches the wall clock, not the work done.
    const started = process.cpuUsage();
    const lines = locateLockfileLines(text);
    const { user, system } = process.cpuUsage(started);
    const cpuMs = (user + system) / 1000;
    expect(lines.size).toBe(5000);
    const textLines = text.split('\n');
    for (const [key, line] of lines) expect(textLines[line - 1]).toBe(`    ${JSON.stringify(key)}: {`);
    // Generous bound; a per-key search takes seconds of CPU here.
    expect(cpuMs).toBeLessThan(1000);
  });
});
