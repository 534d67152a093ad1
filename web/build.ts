/**
 * `npm run build:web` (and before `npm start`): compiles the web app with tsc into web/dist and
 * copies its page and stylesheet. No bundler: browsers load the ES modules as they are.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('.', import.meta.url));
const dist = `${web}dist/`;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', web], { stdio: 'inherit' });
for (const file of ['index.html', 'app.css']) copyFileSync(`${web}src/${file}`, `${dist}${file}`);
