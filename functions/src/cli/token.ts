/**
 * `npm run token -- --sub alice --roles user,admin [--mfa] [--unverified] [--ttl 900]`: prints a
 * signed access token for trying the API locally without signing in (scripts, curl, a user id
 * that has no account), for a verified address unless told `--unverified`. Refuses in production.
 */
import { parseArgs } from 'node:util';
import { issueAccessToken } from '../auth/tokens.ts';
import { ROLES, loadConfig, type Role } from '../config/index.ts';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    roles: { type: 'string', default: 'user' },
    mfa: { type: 'boolean', default: false },
    unverified: { type: 'boolean', default: false },
    ttl: { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n`);
  process.exit(2);
}

const config = await loadConfig().catch((error: unknown) => fail((error as Error).message));
if (config.env === 'production') fail('refusing to mint tokens when APP_ENV is production');
if (!values.sub) fail('usage: npm run token -- --sub <user id> [--roles viewer,user,admin] [--mfa] [--unverified] [--ttl seconds]');
const roles = values.roles
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);
const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
if (unknown.length > 0) fail(`unknown role(s): ${unknown.join(', ')} (roles are ${ROLES.join(', ')})`);

const token = await issueAccessToken(config.auth, {
  sub: values.sub,
  roles: roles as Role[],
  amr: values.mfa ? ['pwd', 'mfa'] : ['pwd'],
  emailVerified: !values.unverified,
  ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
});
process.stdout.write(`${token}\n`);
