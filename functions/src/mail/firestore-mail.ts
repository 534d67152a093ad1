/**
 * The Firebase-native way to send: a document in the collection Firebase's Trigger Email
 * extension watches (`{ to, from, message: { subject, text, html } }`); the extension delivers
 * it through its SMTP settings and records the outcome in the document's `delivery` field. The
 * document id is the message's, so a retried hand-over writes the same document once.
 */
import { DocumentExistsError } from '../store/errors.ts';
import type { DocumentStore } from '../store/port.ts';
import type { MailDriver } from './port.ts';

export function createFirestoreMailDriver(store: DocumentStore, collection: string): MailDriver {
  return {
    name: 'firestore-mail',
    async send({ id, to, from, subject, text, html }, signal) {
      signal.throwIfAborted();
      try {
        await store.create(collection, id, { to, from, message: { subject, text, html } });
      } catch (error) {
        if (!(error instanceof DocumentExistsError)) throw error; // handed over already
      }
    },
    async close() {},
  };
}
