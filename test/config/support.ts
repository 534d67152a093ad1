/** The environment of a production deployment that starts: every required setting, SMTP for mail. Not a spec itself. */
import { generateSigningKey } from '../../functions/src/config/signing-keys.ts';
import { generateTotpKeys } from '../../functions/src/config/totp-keys.ts';

export const PRODUCTION_MAIL = { MAIL_DRIVER: 'smtp', SMTP_HOST: 'smtp.example.com', MAIL_FROM: 'Example <no-reply@example.com>', APP_URL: 'https://app.example.com' };

export async function productionEnv(overrides: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  return {
    APP_ENV: 'production',
    AUTH_ISSUER: 'https://auth.example.com',
    AUTH_AUDIENCE: 'example-api',
    AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    AUTH_TOTP_KEYS: generateTotpKeys(),
    CORS_ORIGINS: 'https://app.example.com',
    ...PRODUCTION_MAIL,
    ...overrides,
  };
}
