// Entry point of the bundled Action (dist/index.js): nothing happens on import but the run.
import { run } from './main.js';

await run();
