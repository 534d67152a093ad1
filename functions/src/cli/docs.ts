/**
 * `npm run docs`: writes what is generated from the code, at the default configuration —
 * docs/openapi.json and docs/security-matrix.md from the route policy, and firebase.json's
 * Hosting rewrites and headers from the functions and their region. A test fails when a
 * committed file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withHostingRules } from '../deploy/hosting.ts';
import { generatedDocs } from '../docs/generated.ts';

const folder = fileURLToPath(new URL('../../../docs/', import.meta.url));
mkdirSync(folder, { recursive: true });
for (const [name, text] of Object.entries(generatedDocs())) {
  writeFileSync(`${folder}${name}`, text);
  process.stdout.write(`wrote docs/${name}\n`);
}

const firebaseJson = fileURLToPath(new URL('../../../firebase.json', import.meta.url));
writeFileSync(firebaseJson, `${JSON.stringify(withHostingRules(JSON.parse(readFileSync(firebaseJson, 'utf8'))), null, 2)}\n`);
process.stdout.write('wrote firebase.json (hosting rewrites and headers)\n');
