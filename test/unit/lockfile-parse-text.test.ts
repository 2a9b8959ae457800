import { describe, expect, it } from 'vitest';
import { LockwardenError } from '../../src/errors.js';
import { findJsonErrorOffset, parseLockfileText } from '../../src/lockfile/parse-lockfile-text.js';

function parseError(text: string): LockwardenError {
  try {
    parseLockfileText(text, 'sub/package-lock.json');
  } catch (err) {
    expect(err).toBeInstanceOf(LockwardenError);
    return err as LockwardenError;
  }
  throw new Error('expected parseLockfileText to throw');
}

describe('parseLockfileText', () => {
  it.each([
    {
      what: 'a missing value',
      text: '{\n  "lockfileVersion": 3,\n  "packages": }\n',
      where: 'line 3 col 15',
    },
    { what: 'a trailing comma', text: '{\n  "lockfileVersion": 3,\n}', where: 'line 3 col 1' },
    { what: 'a misspelt literal', text: '{\n  "a": tru\n}', where: 'line 2 col 11' },
    { what: 'a raw newline in a string', text: '{\n  "a": "x\ny"\n}', where: 'line 2 col 10' },
    { what: 'a bad escape', text: '{"a": "\\q"}', where: 'line 1 col 8' },
    { what: 'truncated text', text: '{\n  "lockfileVersion": 3,\n  "packages": {', where: 'line 3 col 16' },
    { what: 'an empty file', text: '', where: 'line 1 col 1' },
    { what: 'text after the document', text: '{}\n{}', where: 'line 2 col 1' },
    { what: 'a merge conflict marker', text: '{\n<<<<<<< HEAD\n  "a": 1\n}', where: 'line 2 col 1' },
  ])('names the file, line and column of $what', ({ text, where }) => {
    const err = parseError(text);
    expect(err.code).toBe('ELOCKFILE');
    expect(err.message).toMatch(new RegExp(`^sub/package-lock\\.json: invalid JSON at ${where}: \\S`));
  });

  it.each([
    { what: 'an array', text: '[]', message: 'expected a JSON object, found an array' },
    { what: 'null', text: 'null', message: 'expected a JSON object, found null' },
    { what: 'a string', text: '"lock"', message: 'expected a JSON object, found a string ("lock")' },
    { what: 'an empty object', text: '{}', message: 'no "lockfileVersion" and no "dependencies"' },
    {
      what: 'a string lockfileVersion',
      text: '{"lockfileVersion":"3"}',
      message: '"lockfileVersion" must be a positive integer, found "3"',
    },
    {
      what: 'lockfileVersion 0',
      text: '{"lockfileVersion":0,"packages":{}}',
      message: 'must be a positive integer, found 0',
    },
    {
      what: 'lv3 without packages',
      text: '{"lockfileVersion":3,"dependencies":{}}',
      message: 'lockfileVersion 3 needs a "packages" object',
    },
    {
      what: 'lv2 with neither section',
      text: '{"lockfileVersion":2}',
      message: 'lockfileVersion 2 needs a "packages" object',
    },
    {
      what: 'packages as an array',
      text: '{"lockfileVersion":3,"packages":[]}',
      message: '"packages" must be an object, found an array',
    },
    {
      what: 'dependencies as a string',
      text: '{"lockfileVersion":1,"dependencies":"x"}',
      message: '"dependencies" must be an object',
    },
    {
      what: 'an entry that is not an object',
      text: '{"lockfileVersion":3,"packages":{"node_modules/a":true}}',
      message: 'packages["node_modules/a"] must be an object, found a boolean (true)',
    },
    {
      what: 'a numeric version',
      text: '{"lockfileVersion":3,"packages":{"node_modules/a":{"version":1}}}',
      message: 'packages["node_modules/a"].version must be a string, found a number (1)',
    },
    {
      what: 'a nested lv1 entry with an object resolved',
      text: '{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","dependencies":{"b":{"resolved":{}}}}}}',
      message: 'dependencies["a"].dependencies["b"].resolved must be a string, found an object',
    },
    {
      what: 'lv1 nested dependencies that are not an object',
      text: '{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","dependencies":[]}}}',
      message: 'dependencies["a"].dependencies must be an object, found an array',
    },
  ])('rejects $what with a message naming the file and field', ({ text, message }) => {
    const err = parseError(text);
    expect(err.code).toBe('ELOCKFILE');
    expect(err.message.startsWith('sub/package-lock.json: ')).toBe(true);
    expect(err.message).toContain(message);
  });

  it.each([
    {
      what: 'lockfileVersion 3',
      text: '{"name":"app","lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0"}}}',
      version: 3,
      warnings: [],
    },
    {
      what: 'an npm 5 file without lockfileVersion',
      text: '{"name":"app","dependencies":{"a":{"version":"1.0.0"}}}',
      version: 1,
      warnings: [],
    },
    {
      what: 'lv2 with only dependencies',
      text: '{"lockfileVersion":2,"dependencies":{}}',
      version: 2,
      warnings: ['sub/package-lock.json: lockfileVersion 2 without "packages"; read the "dependencies" tree'],
    },
    {
      what: 'a future lockfileVersion',
      text: '{"lockfileVersion":4,"packages":{}}',
      version: 4,
      warnings: [
        'sub/package-lock.json: lockfileVersion 4 is newer than the versions this reader knows (1-3); read as version 3',
      ],
    },
    {
      what: 'a byte-order mark',
      text: '\ufeff{"lockfileVersion":3,"packages":{}}',
      version: 3,
      warnings: [],
    },
    {
      what: '__proto__ keys',
      text: '{"lockfileVersion":3,"packages":{"__proto__":{"version":"1.0.0"},"node_modules/__proto__":{"version":"__proto__"}}}',
      version: 3,
      warnings: [],
    },
  ])('accepts $what', ({ text, version, warnings }) => {
    const result = parseLockfileText(text, 'sub/package-lock.json');
    expect(result.document.lockfileVersion).toBe(version);
    expect(result.warnings).toEqual(warnings);
    // A `__proto__` key stays data and never becomes a prototype.
    expect(Object.getPrototypeOf(result.document)).toBe(Object.prototype);
  });

  it('walks a deeply nested lockfileVersion 1 tree without overflowing the stack', () => {
    const depth = 5000;
    const text = `{"lockfileVersion":1,"dependencies":{"a":${'{"version":"1.0.0","dependencies":{"a":'.repeat(depth)}{"version":"x"}${'}}'.repeat(depth)}}}`;
    expect(parseLockfileText(text, 'package-lock.json').document.lockfileVersion).toBe(1);
  });
});

describe('findJsonErrorOffset', () => {
  it.each([
    { text: '{"a":[1,{"b":null}],"c":-1.5e3,"d":"\\u00e9\\n"}', offset: undefined },
    { text: '  [ true , false , null ]  ', offset: undefined },
    { text: '{"a": }', offset: 6 },
    { text: '{"a" 1}', offset: 5 },
    { text: '[1 2]', offset: 3 },
    { text: '{"a":"\\u12"}', offset: 6 },
    { text: '{"a":01}', offset: 6 },
  ])('finds $offset in $text', ({ text, offset }) => {
    expect(findJsonErrorOffset(text)).toBe(offset);
    // The scanner agrees with JSON.parse on validity.
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    expect(valid).toBe(offset === undefined);
  });
});
