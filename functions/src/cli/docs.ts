/**
 * `npm run docs`: writes docs/openapi.json and docs/security-matrix.md from the route policy,
 * at the default configuration. A test fails when the committed files are out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from '../docs/generated.ts';

const folder = fileURLToPath(new URL('../../../docs/', import.meta.url));
mkdirSync(folder, { recursive: true });
for (const [name, text] of Object.entries(generatedDocs())) {
  writeFileSync(`${folder}${name}`, text);
  process.stdout.write(`wrote docs/${name}\n`);
}
