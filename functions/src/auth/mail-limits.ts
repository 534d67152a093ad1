/**
 * How often the API mails one address, and how often one client may ask it to: 5 messages an
 * hour to an address (counted on a hash of it), 20 asks an hour from an IP, on the document store
 * (rate-limiter-flexible, exact on every consume like the guessing limits), so that neither
 * registration nor a re-send can be turned into a way of flooding someone's inbox.
 */
import type { DocumentStore } from '../store/port.ts';
import { emailKey } from './accounts.ts';
import { counters, reserve } from './brute-force.ts';

const HOUR = 60 * 60;

export interface MailLimits {
  /** Counts one message to `email` (asked for by `ip`, when the client's asks are counted), or refuses (RateLimitedError) while a count is spent. */
  take(email: string, ip?: string): Promise<void>;
}

export function createMailLimits(store: DocumentStore): MailLimits {
  const counter = counters(store, 'mail');
  const address = counter('address', 5, HOUR, 'refund');
  const client = counter('ip', 20, HOUR, 'refund');
  return {
    async take(email, ip) {
      await reserve(
        ip === undefined
          ? [[address, emailKey(email)]]
          : [
              [address, emailKey(email)],
              [client, ip],
            ],
        'emails',
      );
    },
  };
}

const limits = new WeakMap<DocumentStore, MailLimits>();

export function mailLimitsFor(store: DocumentStore): MailLimits {
  let found = limits.get(store);
  if (!found) limits.set(store, (found = createMailLimits(store)));
  return found;
}
