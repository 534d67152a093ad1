/**
 * `npm run docs`: writes what is generated from the code, at the default configuration —
 * docs/openapi.json and docs/security-matrix.md from the route policy, and firebase.json's
 * Hosting rewrites and headers from the functions and their region, and the web client's list of
 * error codes from the error catalog. A test fails when a
 * committed file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withHostingRules } from '../deploy/hosting.ts';
import { WEB_ERROR_CODES_PATH, webErrorCodes } from '../docs/error-codes.ts';
import { generatedDocs } from '../docs/generated.ts';

const folder = fileURLToPath(new URL('../../../docs/', import.meta.url));
mkdirSync(folder, { recursive: true });
for (const [name, text] of Object.entries(generatedDocs())) {
  writeFileSync(`${folder}${name}`, text);
  process.stdout.write(`wrote docs/${name}\n`);
}

const firebaseJson = fileURLToPath(new URL('../../../firebase.json', import.meta.url));
writeFileSync(firebaseJson, `${JSON.stringify(withHostingRules(JSON.parse(readFileSync(firebaseJson, 'utf8')) as Record<string, unknown>), null, 2)}\n`);
process.stdout.write('wrote firebase.json (hosting rewrites and headers)\n');

writeFileSync(fileURLToPath(new URL(`../../../${WEB_ERROR_CODES_PATH}`, import.meta.url)), webErrorCodes());
process.stdout.write(`wrote ${WEB_ERROR_CODES_PATH} (the error catalog's codes, for the web client)\n`);
