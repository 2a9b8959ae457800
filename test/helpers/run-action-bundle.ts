// Runs the bundled Action (dist/index.js) the way the GitHub runner does: a fresh process with
// `INPUT_*` variables (hyphens kept, action.yml defaults applied), the event payload in a file,
// and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files to read back.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BUNDLE = path.join(REPO_ROOT, 'dist', 'index.js');

export interface BundleRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Workflow commands (`::error ...::message`) printed on stdout. */
  commands: string[];
  durationMs: number;
  /** Peak RSS of the Action process, in bytes. */
  maxRssBytes?: number;
}

export interface BundleRunOptions {
  workspace: string;
  inputs?: Record<string, string>;
  eventName: string;
  /** Event payload (serialized to GITHUB_EVENT_PATH). */
  event: unknown;
  repository?: string;
  apiUrl: string;
  githubToken?: string;
  /** Extra environment (LOCKWARDEN_DOWNLOADS_URL, LOCKWARDEN_CACHE_DIR, ...). */
  env?: Record<string, string>;
  bundle?: string;
  /** Records peak RSS through a preloaded module. */
  measureRss?: boolean;
  /** Extra Node.js flags (`--cpu-prof`, ...). */
  nodeArgs?: string[];
}

/** Input defaults from action.yml, with `${{ github.token }}` substituted as the runner does. */
export function actionDefaults(githubToken: string): Record<string, string> {
  const doc = parseYaml(readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(doc.inputs)) {
    if (spec.default === undefined) continue;
    out[name] = String(spec.default).replace(/\$\{\{\s*github\.token\s*\}\}/g, githubToken);
  }
  return out;
}

/** The runner's `name<<delimiter\nvalue\ndelimiter` file format. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const [, name, delimiter] = m;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else {
      const eq = lines[i]!.indexOf('=');
      if (eq > 0) out[lines[i]!.slice(0, eq)] = lines[i]!.slice(eq + 1);
    }
  }
  return out;
}

export async function runActionBundle(opts: BundleRunOptions): Promise<BundleRun> {
  const runnerDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-runner-'));
  const temp = path.join(runnerDir, 'temp');
  const home = path.join(runnerDir, 'home');
  mkdirSync(temp);
  mkdirSync(home);
  const eventPath = path.join(runnerDir, 'event.json');
  writeFileSync(eventPath, JSON.stringify(opts.event));
  const outputFile = path.join(runnerDir, 'output');
  const summaryFile = path.join(runnerDir, 'summary.md');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const rssFile = path.join(runnerDir, 'rss');

  const token = opts.githubToken ?? 'ghs_test_token';
  const inputs = { ...actionDefaults(token), ...opts.inputs };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: opts.eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_REPOSITORY: opts.repository ?? 'octo-org/web-app',
    GITHUB_API_URL: opts.apiUrl.replace(/\/$/, ''),
    GITHUB_SERVER_URL: opts.apiUrl.replace(/\/$/, ''),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: temp,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LOCKWARDEN_CACHE_DIR: path.join(runnerDir, 'cache'),
    ...opts.env,
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

  const args: string[] = [...(opts.nodeArgs ?? [])];
  if (opts.measureRss) {
    // Sampled, not ru_maxrss: on Linux a spawned child's ru_maxrss starts from the parent's size at fork.
    const hook = [
      'let peak = process.memoryUsage.rss();',
      'setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10).unref();',
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(Math.max(peak, process.memoryUsage.rss()))));`,
    ].join('\n');
    const hookFile = path.join(runnerDir, 'rss-hook.cjs');
    writeFileSync(hookFile, hook);
    args.push('--require', hookFile);
  }
  args.push(opts.bundle ?? BUNDLE);

  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: opts.workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const durationMs = performance.now() - started;
  const result: BundleRun = {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    commands: stdout.split('\n').filter((l) => l.startsWith('::')),
    durationMs,
  };
  if (opts.measureRss) {
    try {
      result.maxRssBytes = Number(readFileSync(rssFile, 'utf8'));
    } catch {
      // The process died before its exit hook ran; the caller sees the exit code.
    }
  }
  return result;
}

/** `::level title=...,file=...,line=N::message` lines, parsed and unescaped as the runner does. */
export function parseAnnotations(r: BundleRun, level: string) {
  const decode = (s: string) =>
    s
      .replaceAll('%0D', '\r')
      .replaceAll('%0A', '\n')
      .replaceAll('%3A', ':')
      .replaceAll('%2C', ',')
      .replaceAll('%25', '%');
  return r.commands
    .filter((c) => c.startsWith(`::${level} `) || c.startsWith(`::${level}::`))
    .map((c) => {
      const m = /^::\w+(?: (.*?))?::(.*)$/.exec(c)!;
      const props = Object.fromEntries(
        (m[1] ?? '')
          .split(',')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), decode(kv.slice(kv.indexOf('=') + 1))]),
      );
      return { ...props, message: decode(m[2]!) } as Record<string, string>;
    });
}
