/**
 * `m2pool init DIR`: write a small project that depends on m2pool into DIR (created if missing; refused when it
 * already holds any of the files): see init-templates.ts. Then `npm install`, `npm test`, `npm start`.
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../config/flags';
import { command } from './command';
import { SHIPPED_MONGREL2_CONFIG } from '../config/mongrel2-endpoints';
import { ExitCode } from '../errors';
import { INIT_FILES } from './init-templates';


/** The tsx range the project gets (^4.20: `--import tsx` on Node 20.6+; test/integration/init-project.test.ts installs it from the registry). */
const TSX_VERSION = '4.20.0';

/** Run the command; resolves with the exit code. */
export const initCommand = command(
  {
    usage: 'm2pool init DIR',
    summary: 'Write a new project into DIR: package.json (m2pool, tsx), tsconfig.json, src/app.ts, test/app.test.ts\n(app.request()), mongrel2.conf and ecosystem.config.js. Then: cd DIR && npm install && npm test && npm start.',
    flags: {},
    positionals: true,
  },
  async (_values, positionals) => {
    const [target, ...extra] = positionals;
    if (target === undefined || extra.length > 0) throw new UsageError('give exactly one directory: m2pool init DIR');
    const dir = path.resolve(target);
    const files = [...Object.keys(INIT_FILES), 'mongrel2.conf'];
    const taken = files.filter((f) => existsSync(path.join(dir, f)));
    if (taken.length > 0) throw new UsageError(`${dir} already has ${taken.join(', ')}: nothing was written`);
    const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'm2pool-app';
    const values: Record<string, string> = { NAME: name, VERSION: packageVersion(), TSX: TSX_VERSION };
    for (const [file, template] of Object.entries(INIT_FILES)) {
      const out = path.join(dir, file);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, template.replace(/\{\{([A-Z]+)\}\}/g, (_, key: string) => values[key] ?? ''), { flag: 'wx' });
    }
    copyFileSync(SHIPPED_MONGREL2_CONFIG, path.join(dir, 'mongrel2.conf'));
    const rel = path.relative(process.cwd(), dir) || '.';
    process.stdout.write(`wrote ${files.length} files to ${dir}\n\nnext:\n  cd ${rel}\n  npm install\n  npm test          # app.request(): no Mongrel2 needed\n  npm start         # Mongrel2 + a pool, reloaded on every save of src/\n`);
    return ExitCode.OK;
  },
);

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}
