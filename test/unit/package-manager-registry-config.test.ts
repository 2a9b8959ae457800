// The registry readers `lockwarden update` routes scopes with: Yarn Berry's .yarnrc.yml and bun's
// bunfig.toml, as those tools read them (files lowest priority first, variables from the env).
import { describe, expect, it } from 'vitest';
import { parseBunfigRegistries } from '../../src/sources/bunfig-registries.js';
import { parseRegistryUrl } from '../../src/sources/registry-routes.js';
import { parseYarnrcRegistries } from '../../src/sources/yarnrc-registries.js';

const FALLBACK = 'http://127.0.0.1:7/';
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const yarnrc = (...texts: string[]) => texts.map((text, i) => ({ path: `/f${i}/.yarnrc.yml`, text }));
const bunfig = (...texts: string[]) => texts.map((text, i) => ({ path: `/f${i}/bunfig.toml`, text }));
const plain = (routes: ReturnType<typeof parseYarnrcRegistries>) => ({
  default: routes.default && { url: routes.default.url, authorization: routes.default.authorization },
  scopes: Object.fromEntries(
    [...routes.scopes].map(([scope, r]) => [scope, { url: r.url, authorization: r.authorization }]),
  ),
});

describe('parseYarnrcRegistries', () => {
  const cases: { name: string; files: string[]; env?: Record<string, string>; want: unknown }[] = [
    {
      name: 'a scope with its own server and token from the environment',
      files: [
        `npmRegistryServer: "http://pub.test"\nnpmScopes:\n  corp:\n    npmRegistryServer: "https://corp.test/npm"\n    npmAuthToken: "\${CORP}"\n`,
      ],
      env: { CORP: 'tok' },
      want: {
        default: { url: 'http://pub.test/', authorization: undefined },
        scopes: {
          '@jsr': { url: 'https://npm.jsr.io/', authorization: undefined },
          '@corp': { url: 'https://corp.test/npm/', authorization: 'Bearer tok' },
        },
      },
    },
    {
      name: 'credentials from npmRegistries (without protocol), Basic from npmAuthIdent',
      files: [
        'npmScopes:\n  corp:\n    npmRegistryServer: "https://corp.test"\nnpmRegistries:\n  "//corp.test":\n    npmAuthIdent: "me:pw"\n',
      ],
      want: {
        scopes: {
          '@jsr': { url: 'https://npm.jsr.io/', authorization: undefined },
          '@corp': { url: 'https://corp.test/', authorization: basic('me:pw') },
        },
      },
    },
    {
      name: 'top-level credentials go to the default registry only, never to a scope on another host',
      files: [
        'npmRegistryServer: "https://pub.test"\nnpmAuthToken: "top"\nnpmScopes:\n  corp:\n    npmRegistryServer: "https://corp.test"\n  same:\n    npmRegistryServer: "https://pub.test/other"\n',
      ],
      want: {
        default: { url: 'https://pub.test/', authorization: 'Bearer top' },
        scopes: {
          '@jsr': { url: 'https://npm.jsr.io/', authorization: undefined },
          '@corp': { url: 'https://corp.test/', authorization: undefined },
          '@same': { url: 'https://pub.test/other/', authorization: 'Bearer top' },
        },
      },
    },
    {
      name: 'the project file overrides home per field; a scope without a server uses the fallback',
      files: [
        'npmScopes:\n  corp:\n    npmRegistryServer: "https://old.test"\n    npmAuthToken: "home-token"\n',
        `npmScopes:\n  corp:\n    npmRegistryServer: "https://corp.test"\n  bare:\n    npmAuthToken: "\${MISSING:-fallback-token}"\n`,
      ],
      want: {
        scopes: {
          '@jsr': { url: 'https://npm.jsr.io/', authorization: undefined },
          '@corp': { url: 'https://corp.test/', authorization: 'Bearer home-token' },
          '@bare': { url: FALLBACK, authorization: 'Bearer fallback-token' },
        },
      },
    },
    {
      name: 'YARN_NPM_REGISTRY_SERVER and YARN_NPM_AUTH_TOKEN beat the files',
      files: ['npmRegistryServer: "https://file.test"\nnpmAuthToken: "file-token"\n'],
      env: { YARN_NPM_REGISTRY_SERVER: 'https://env.test', YARN_NPM_AUTH_TOKEN: 'env-token' },
      want: {
        default: { url: 'https://env.test/', authorization: 'Bearer env-token' },
        scopes: { '@jsr': { url: 'https://npm.jsr.io/', authorization: undefined } },
      },
    },
  ];
  it.each(cases)('$name', ({ files, env, want }) => {
    expect(plain(parseYarnrcRegistries(yarnrc(...files), env ?? {}, { fallbackRegistry: FALLBACK }))).toEqual(
      want,
    );
  });

  const errors: { name: string; text: string; message: RegExp }[] = [
    {
      name: 'an unset variable names the field and file',
      text: `npmScopes:\n  corp:\n    npmAuthToken: "\${CORP_TOKEN}"\n`,
      message:
        /^npmScopes\.corp\.npmAuthToken in \/f0\/\.yarnrc\.yml refers to \$\{CORP_TOKEN\}, which is not set/,
    },
    {
      name: 'a server that is not http(s)',
      text: 'npmScopes:\n  corp:\n    npmRegistryServer: "ftp://corp.test"\n',
      message: /^npmScopes\.corp\.npmRegistryServer in \/f0\/\.yarnrc\.yml must be an http/,
    },
    {
      name: 'npmScopes that is not a mapping',
      text: 'npmScopes: corp\n',
      message: /npmScopes in .*: expected a mapping/,
    },
    { name: 'invalid YAML', text: 'npmScopes: [\n', message: /\/f0\/\.yarnrc\.yml is not valid YAML/ },
  ];
  it.each(errors)('$name', ({ text, message }) => {
    expect(() => parseYarnrcRegistries(yarnrc(text), {}, { fallbackRegistry: FALLBACK })).toThrow(message);
  });
});

describe('parseBunfigRegistries', () => {
  const cases: { name: string; files: string[]; env?: Record<string, string>; want: unknown }[] = [
    {
      name: 'the three forms of a scope, with and without @, variables from the environment',
      files: [
        [
          '[install]',
          'registry = { url = "https://pub.test", token = "$PUB" }',
          '[install.scopes]',
          '"@a" = "https://u%40x:p%3Aw@a.test/npm/"',
          `b = { url = "https://b.test", token = "\${B_TOKEN}" }`,
          'c = { url = "https://c.test", username = "me", password = "$C_PASS" }',
          'd = "https://d.test"',
        ].join('\n'),
      ],
      env: { PUB: 'pub-token', B_TOKEN: 'b-token', C_PASS: 'c-pass' },
      want: {
        default: { url: 'https://pub.test/', authorization: 'Bearer pub-token' },
        scopes: {
          '@a': { url: 'https://a.test/npm/', authorization: basic('u@x:p:w') },
          '@b': { url: 'https://b.test/', authorization: 'Bearer b-token' },
          '@c': { url: 'https://c.test/', authorization: basic('me:c-pass') },
          '@d': { url: 'https://d.test/', authorization: undefined },
        },
      },
    },
    {
      name: 'the project file overrides the global one',
      files: [
        '[install.scopes]\ncorp = "https://old.test"\n',
        '[install.scopes]\ncorp = "https://corp.test"\n',
      ],
      want: { scopes: { '@corp': { url: 'https://corp.test/', authorization: undefined } } },
    },
    { name: 'no install table', files: ['[run]\nbun = true\n'], want: { scopes: {} } },
  ];
  it.each(cases)('$name', ({ files, env, want }) => {
    expect(plain(parseBunfigRegistries(bunfig(...files), env ?? {}))).toEqual(want);
  });

  const errors: { name: string; text: string; message: RegExp }[] = [
    {
      name: 'an unset variable names the field',
      text: '[install.scopes]\ncorp = { url = "https://corp.test", token = "$NOPE" }\n',
      message: /^install\.scopes\.corp in \/f0\/bunfig\.toml \(token\) refers to \$NOPE, which is not set/,
    },
    {
      name: 'a field lockwarden does not support',
      text: '[install.scopes]\ncorp = { url = "https://corp.test", email = "me@corp.test" }\n',
      message: /^install\.scopes\.corp in \/f0\/bunfig\.toml: email is not supported/,
    },
    {
      name: 'a table without url',
      text: '[install.scopes]\ncorp = { token = "t" }\n',
      message: /install\.scopes\.corp in \/f0\/bunfig\.toml: url is missing/,
    },
    {
      name: 'username without password',
      text: '[install.scopes]\ncorp = { url = "https://corp.test", username = "me" }\n',
      message: /username and password go together/,
    },
    {
      name: 'invalid TOML, without echoing the line (it may hold a token)',
      text: '[install.scopes]\ncorp = { url = "https://corp.test", token = "secret-abc" \n',
      message: /^\/f0\/bunfig\.toml is not valid TOML \(line \d+, column \d+\)$/,
    },
  ];
  it.each(errors)('$name', ({ text, message }) => {
    expect(() => parseBunfigRegistries(bunfig(text), {})).toThrow(message);
  });
});

describe('parseRegistryUrl', () => {
  it('takes credentials out of the URL and never echoes them in an error', () => {
    expect(parseRegistryUrl('https://me:pw@corp.test/npm', 'x')).toEqual({
      url: 'https://corp.test/npm/',
      authorization: basic('me:pw'),
    });
    let message = '';
    try {
      parseRegistryUrl('ftp://me:secret@corp.test/', 'install.registry in bunfig.toml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('install.registry in bunfig.toml must be an http:// or https:// URL');
  });
});
