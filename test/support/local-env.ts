/** The environment of a local server or function on its own DATA_DIR: SQLite and disk there, nothing else reached. Not a spec itself. */
import { generateSigningKey } from '../../functions/src/config/signing-keys.ts';
import { freePort } from '../../scripts/loopback.ts';

export async function localEnv(dataDir: string, overrides: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ENV: 'test',
    DATA_DIR: dataDir,
    STORE_DRIVER: 'sqlite',
    BLOB_DRIVER: 'disk',
    AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    LOG_LEVEL: 'error',
    PORT: '0',
    HOST: '127.0.0.1',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: `127.0.0.1:${await freePort()}`,
  };
  for (const name of ['SQLITE_PATH', 'BLOB_DIR', 'MAIL_OUTBOX_DIR', 'FIRESTORE_EMULATOR_HOST', 'STORAGE_EMULATOR_HOST', 'K_SERVICE', 'FUNCTION_TARGET', 'FUNCTIONS_EMULATOR'])
    delete env[name];
  return { ...env, ...overrides };
}
