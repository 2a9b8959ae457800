// The CLI in process with its output captured: exit code, stdout and stderr as text.
import { PassThrough } from 'node:stream';
import { type CliIo, runCli } from '../../src/cli/main.js';

export async function runCliCaptured(
  argv: string[],
  io: Omit<CliIo, 'stdout' | 'stderr'>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(argv, { ...io, stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
