// Entry point of the bundled Action (dist/index.js): nothing happens on import but the run.
// The runner runs the bundle with no node_modules beside it, so the YAML parser the policy reader
// loads lazily for the CLI is bundled and handed over here.
import { parse as parseYaml } from 'yaml';
import { useYamlParser } from '../policy/parse-policy.js';
import { run } from './main.js';

useYamlParser(parseYaml);

await run();
