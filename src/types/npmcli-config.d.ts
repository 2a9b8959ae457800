// The parts of @npmcli/config (npm's own configuration loader, shipped without types) that
// src/sources/npm-config.ts uses.
declare module '@npmcli/config' {
  interface ConfigLayer {
    source: string;
    raw: Record<string, unknown>;
    data: Record<string, unknown>;
  }
  export default class Config {
    constructor(options: {
      definitions: unknown;
      flatten: unknown;
      shorthands: unknown;
      npmPath: string;
      env: NodeJS.ProcessEnv;
      argv: string[];
      cwd: string;
      execPath: string;
      platform: string;
      warn?: boolean;
    });
    env: NodeJS.ProcessEnv;
    sources: Map<string, string>;
    data: Map<string, ConfigLayer>;
    readonly flat: Record<string, unknown>;
    load(): Promise<void>;
    get(key: string, where?: string): unknown;
    loadProjectConfig(): Promise<void>;
    loadLocalPrefix(): Promise<void>;
    parseField(value: unknown, key: string): unknown;
  }
}

declare module '@npmcli/config/lib/definitions/index.js' {
  const npmDefinitions: {
    definitions: Record<string, unknown>;
    flatten: unknown;
    shorthands: Record<string, unknown>;
  };
  export default npmDefinitions;
}

declare module '@npmcli/config/lib/nerf-dart.js' {
  export default function nerfDart(url: string): string;
}

declare module '@npmcli/config/lib/env-replace.js' {
  export default function envReplace(value: string, env: NodeJS.ProcessEnv): string;
}
