import { readLockfile } from './src/lockfile/read-lockfile.ts';
const d = process.argv[2];
await readLockfile(d);
