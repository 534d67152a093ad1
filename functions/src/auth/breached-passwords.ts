/**
 * Passwords known from breaches (ASVS 6.2.12), asked of Have I Been Pwned's range API with
 * k-anonymity: only the first 5 hex characters of the password's SHA-1 leave the server; the
 * answer lists every suffix under that prefix with how often it was seen, padded with
 * never-seen suffixes (`Add-Padding: true`) so its size says nothing either. The call goes
 * through the outbound client (deadline, retries, circuit breaker).
 *
 * Optional, by BREACHED_PASSWORD_CHECK: `off` (the default: the API then calls out to nobody),
 * `fail-open` (a check that cannot be done lets the password through, and says so in the log)
 * or `fail-closed` (it answers 503 breached_password_check_unavailable, nothing changed).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'winston';
import type { Config } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import { createOutboundClient, type Answer, type OutboundClient } from '../outbound/client.ts';

export interface BreachedPasswordCheck {
  /** How many times the password was seen in breaches; 0 when never, or (fail-open) when it could not be checked. */
  timesSeen(password: string): Promise<number>;
}

/** A line of the range API's answer: 35 hex characters (the SHA-1 without its prefix), a colon, a count. */
const LINE = /^([0-9A-F]{35}):(\d+)$/;

/** The count for `suffix` in an answer; a body with any line out of shape is garbage, not an answer. */
export function countIn(answer: Answer, suffix: string): number {
  let found = 0;
  const lines = answer.text.split(/\r?\n/).filter((line) => line !== '');
  if (lines.length === 0) throw new Error('an empty range');
  for (const line of lines) {
    const match = LINE.exec(line.trim().toUpperCase());
    if (!match) throw new Error(`a line out of shape: ${JSON.stringify(line.slice(0, 60))}`);
    if (match[1] === suffix) found = Number(match[2]);
  }
  return found;
}

export function createBreachedPasswordCheck(config: Config['breachedPasswords'], logger?: Logger, client?: OutboundClient): BreachedPasswordCheck {
  if (config.check === 'off') return { timesSeen: async () => 0 };
  const outbound = client ?? createOutboundClient({ dependency: 'breached-passwords', unavailable: 'breached_password_check_unavailable', ...(logger ? { logger } : {}) });
  const base = config.apiUrl.replace(/\/+$/, '');
  return {
    async timesSeen(password) {
      const hash = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
      const [prefix, suffix] = [hash.slice(0, 5), hash.slice(5)];
      try {
        return await outbound.get(`${base}/range/${prefix}`, { headers: { 'add-padding': 'true', accept: 'text/plain' }, read: (answer) => countIn(answer, suffix) });
      } catch (error) {
        if (config.check === 'fail-open' && error instanceof ApiError) {
          logger?.warn('breached-password check not done: the password is let through (fail-open)', { event: 'password.breach_check_skipped' });
          return 0;
        }
        throw error;
      }
    },
  };
}
