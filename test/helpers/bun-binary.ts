// bun's npm package ships a placeholder `bin/bun.exe` that its postinstall script replaces with the
// binary of the platform package (`@oven/bun-<os>-<arch>`). Installs with --ignore-scripts (this
// project's CI, as every supply-chain-minded CI should) keep the placeholder, so the tests run the
// platform package's binary directly, and the postinstalled copy only where it exists.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function isExecutableBinary(file: string): boolean {
  if (!existsSync(file)) return false;
  const head = readFileSync(file).subarray(0, 4);
  // ELF, Mach-O (both byte orders, fat) or PE: anything but the text placeholder.
  return (
    head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) ||
    [0xfeedfacf, 0xcffaedfe, 0xcafebabe].includes(head.readUInt32BE(0)) ||
    head.subarray(0, 2).toString('latin1') === 'MZ'
  );
}

export function bunBinary(): string {
  const exe = process.platform === 'win32' ? 'bun.exe' : 'bun';
  const candidates = [
    path.join(ROOT, 'node_modules', '@oven', `bun-${process.platform}-${process.arch}`, 'bin', exe),
    path.join(ROOT, 'node_modules', '@oven', `bun-${process.platform}-${process.arch}-baseline`, 'bin', exe),
    path.join(ROOT, 'node_modules', 'bun', 'bin', 'bun.exe'),
  ];
  const found = candidates.find(isExecutableBinary);
  if (!found) throw new Error(`no bun binary in node_modules (looked at ${candidates.join(', ')})`);
  return found;
}
