import { describe, expect, it } from 'vitest';
import { indexPackument } from '../../src/sources/index-packument.js';

const DEPTH = 200;

function index(text: string) {
  return indexPackument(Buffer.from(text), DEPTH);
}

function slice(bytes: Buffer, range: { valueStart: number; valueEnd: number }): unknown {
  return JSON.parse(bytes.toString('utf8', range.valueStart, range.valueEnd));
}

/** Every recorded range parses to what JSON.parse of the whole document has there. */
function expectRangesMatch(text: string): void {
  const result = index(text);
  if (!result.ok) throw new Error(`refused ${JSON.stringify(text)}: ${result.reason}`);
  const doc = JSON.parse(text) as Record<string, unknown>;
  const { bytes, fields, versions } = result.index;
  // JSON.parse lists integer-like keys first; the index keeps the document's order.
  expect(fields).toHaveLength(Object.keys(doc).length);
  expect(new Set(fields.map((f) => f.key))).toEqual(new Set(Object.keys(doc)));
  for (const field of fields) expect(slice(bytes, field)).toEqual(doc[field.key]);
  const docVersions = doc.versions;
  if (typeof docVersions === 'object' && docVersions !== null && !Array.isArray(docVersions)) {
    const map = docVersions as Record<string, unknown>;
    expect(new Set(versions.map((v) => v.key))).toEqual(new Set(Object.keys(map)));
    for (const version of versions) {
      expect(slice(bytes, version)).toEqual(map[version.key]);
      const manifest = map[version.key];
      if (typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest)) {
        expect(version.fields).not.toBeNull();
        for (const field of version.fields!) {
          expect(slice(bytes, field)).toEqual((manifest as Record<string, unknown>)[field.key]);
        }
      } else {
        expect(version.fields).toBeNull();
      }
    }
  } else {
    expect(versions).toEqual([]);
  }
}

describe('indexPackument: valid JSON', () => {
  const documents: Record<string, string> = {
    'a plain packument': JSON.stringify({
      _id: 'a',
      name: 'a',
      'dist-tags': { latest: '1.0.0' },
      versions: {
        '1.0.0': {
          name: 'a',
          version: '1.0.0',
          dist: { tarball: 'http://127.0.0.1/a.tgz', integrity: 'sha512-x' },
        },
      },
      time: { '1.0.0': '2020-01-01T00:00:00.000Z' },
    }),
    'pretty-printed with every kind of whitespace':
      '{\n\t"name" :\r\n "a" ,\n  "versions" : { "1.0.0" : { "x" : [ 1 , 2 ] } }\n}\n',
    'escapes in keys and values': String.raw`{"na\u006de":"a\"b\\c\/d\b\f\n\r\t","versions":{"1.0.0-\u00e9":{"k\"ey":"\ud83d\ude00"}}}`,
    'raw non-ASCII text': '{"name":"été","versions":{"1.0.0":{"description":"日本語 ✓"}}}',
    'numbers of every shape':
      '{"n":[0,-0,1,-1,12.5,1e3,1E+3,1e-3,-0.0e0,123456789012345678901234567890],"versions":{}}',
    'literals and empties': '{"t":true,"f":false,"z":null,"o":{},"a":[],"s":"","versions":{}}',
    'versions that are not objects': '{"versions":{"1.0.0":"x","2.0.0":[1],"3.0.0":null,"4.0.0":{}}}',
    'no versions at all': '{"name":"a"}',
    '__proto__ and constructor keys':
      '{"__proto__":{"x":1},"versions":{"__proto__":{"constructor":1},"1.0.0":{"__proto__":2}}}',
    'duplicate keys below the indexed levels (JSON.parse keeps the last)':
      '{"versions":{"1.0.0":{"dependencies":{"a":"1","a":"2"}}}}',
    'versions that is an array': '{"versions":[1,2]}',
  };
  for (const [what, text] of Object.entries(documents)) {
    it(what, () => expectRangesMatch(text));
  }
});

describe('indexPackument: refuses what JSON.parse refuses', () => {
  const invalid: Record<string, string> = {
    'an empty body': '',
    'trailing comma in an object': '{"a":1,}',
    'trailing comma in an array': '{"a":[1,]}',
    'a leading zero': '{"a":01}',
    'a bare decimal point': '{"a":1.}',
    'a number starting with a point': '{"a":.5}',
    'a plus sign': '{"a":+1}',
    'an exponent without digits': '{"a":1e}',
    'a misspelt literal': '{"a":tru}',
    NaN: '{"a":NaN}',
    'single quotes': "{'a':1}",
    'a raw control character in a string': '{"a":"x\u0001y"}',
    'a raw newline in a string': '{"a":"x\ny"}',
    'a raw tab in a key': '{"a\tb":1}',
    'an unknown escape': String.raw`{"a":"\x41"}`,
    'a short unicode escape': String.raw`{"a":"\u12"}`,
    'a unicode escape swallowing the quote': String.raw`{"a":"\u00"}`,
    'an unterminated string': '{"a":"abc',
    'an unterminated object': '{"a":1',
    'data after the document': '{"a":1} {"b":2}',
    'a missing colon': '{"a" 1}',
    'a missing comma': '{"a":1 "b":2}',
    'an unquoted key': '{a:1}',
    'a comment': '{"a":1 /* x */}',
    'a byte order mark': '\ufeff{"a":1}',
  };
  for (const [what, text] of Object.entries(invalid)) {
    it(what, () => {
      expect(() => JSON.parse(text)).toThrow();
      const result = index(text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/^invalid JSON|not a JSON object/);
    });
  }

  it('refuses a document whose root is not an object', () => {
    for (const text of ['[]', '"x"', '1', 'null']) {
      expect(index(text)).toEqual({ ok: false, reason: 'document is not a JSON object' });
    }
  });
});

describe('indexPackument: what a splice could read differently', () => {
  it.each([
    ['at the top level', '{"versions":{},"versions":{"6.6.6":{}}}', 'versions'],
    ['among the versions', '{"versions":{"1.0.0":{"a":1},"1.0.0":{"a":2}}}', '1.0.0'],
    ['within a version', '{"versions":{"1.0.0":{"dist":{"tarball":"x"},"dist":{"tarball":"y"}}}}', 'dist'],
    ['spelt with an escape', String.raw`{"versions":{"1.0.0":{"dist":1,"d\u0069st":2}}}`, 'dist'],
  ])('refuses a duplicate key %s', (_, text, key) => {
    const result = index(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(`duplicate key ${JSON.stringify(key)}`);
  });

  it('bounds nesting as the depth walk did: the root object is level 1', () => {
    const nested = (levels: number) =>
      `{"versions":{"1.0.0":{"x":${'['.repeat(levels - 3)}${']'.repeat(levels - 3)}}}}`;
    expect(indexPackument(Buffer.from(nested(10)), 10).ok).toBe(true);
    expect(indexPackument(Buffer.from(nested(11)), 10)).toEqual({
      ok: false,
      reason: 'document nested deeper than 10 levels (not handled safely)',
    });
    // A deep document is refused before the recursion reaches it, however deep it goes.
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(indexPackument(Buffer.from(deep), DEPTH).ok).toBe(false);
  });

  it('decodes a non-ASCII key as itself, whatever keys came before it', () => {
    // The Latin-1 reading of the version key's UTF-8 bytes, as an earlier key: interning once
    // handed back that string for the version (same hash, length and code units).
    const latin1Twin = Buffer.from('312e302e302d344342366369c3a2c282c2ac', 'hex');
    const version = Buffer.from('312e302e302d344342366369e282ac', 'hex');
    const text = Buffer.concat([
      Buffer.from('{"'),
      latin1Twin,
      Buffer.from('":1,"versions":{"'),
      version,
      Buffer.from('":{"dist":{}}}}'),
    ]);
    const result = indexPackument(text, DEPTH);
    expect(result.ok && result.index.versions.map((v) => v.key)).toEqual(['1.0.0-4CB6ci€']);
    expect(Object.keys(JSON.parse(text.toString('utf8')).versions)).toEqual(['1.0.0-4CB6ci€']);
  });

  it('bounds what one document may make it hold: versions and indexed fields', () => {
    const versions = (n: number) =>
      `{"versions":{${Array.from({ length: n }, (_, i) => `"${i}.0.0":{}`).join(',')}}}`;
    const limits = { versions: 100, fields: 1_000 };
    expect(indexPackument(Buffer.from(versions(100)), DEPTH, limits).ok).toBe(true);
    expect(indexPackument(Buffer.from(versions(101)), DEPTH, limits)).toEqual({
      ok: false,
      reason: 'document lists more than 100 versions (not handled safely)',
    });
    const fields = (n: number) =>
      `{"versions":{"1.0.0":{${Array.from({ length: n }, (_, i) => `"f${i}":1`).join(',')}}}}`;
    // The versions object and its one entry are two fields of the thousand.
    expect(indexPackument(Buffer.from(fields(998)), DEPTH, limits).ok).toBe(true);
    expect(indexPackument(Buffer.from(fields(999)), DEPTH, limits)).toEqual({
      ok: false,
      reason: 'document has more than 1000 fields at the levels indexed (not handled safely)',
    });
    // Fields below the indexed levels are only checked, never held, so they do not count.
    const nested = `{"versions":{"1.0.0":{"dependencies":{${Array.from({ length: 5_000 }, (_, i) => `"d${i}":"1"`).join(',')}}}}}`;
    expect(indexPackument(Buffer.from(nested), DEPTH, limits).ok).toBe(true);
  });

  it('agrees with JSON.parse on thousands of corrupted documents (fixed seed)', () => {
    const base = JSON.stringify({
      name: 'p',
      'dist-tags': { latest: '1.0.1' },
      versions: {
        '1.0.0': {
          name: 'p',
          version: '1.0.0',
          dependencies: { q: '^1.0.0' },
          dist: { tarball: 'http://127.0.0.1/p.tgz' },
        },
        '1.0.1': { name: 'p', version: '1.0.1', scripts: { install: 'node x' }, n: [1.5e3, -2, true, null] },
      },
      time: { '1.0.0': '2020-01-01T00:00:00.000Z' },
      readme: 'a "quoted" \\ line\u00e9',
    });
    const alphabet = '{}[]:,"\\ 0123456789.eE+-tfnulrsa\u0001\n';
    let seed = 42;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let accepted = 0;
    for (let round = 0; round < 4000; round++) {
      let text = base;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length);
        const kind = random(3);
        const char = alphabet[random(alphabet.length)]!;
        if (kind === 0) text = text.slice(0, at) + text.slice(at + 1);
        else if (kind === 1) text = text.slice(0, at) + char + text.slice(at);
        else text = text.slice(0, at) + char + text.slice(at + 1);
      }
      let parsed: unknown;
      let parses = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        parses = false;
      }
      const result = index(text);
      const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      if (!parses || !isObject) {
        expect(result.ok, text).toBe(false);
        continue;
      }
      if (!result.ok) {
        // The one deliberate difference: duplicate keys at an indexed level.
        expect(result.reason, text).toMatch(/duplicate key/);
        continue;
      }
      accepted++;
      expectRangesMatch(text);
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
