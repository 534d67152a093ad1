/**
 * The Firebase-native way to send: a document in the collection Firebase's Trigger Email
 * extension watches (`{ to, from, message: { subject, text, html } }`); the extension delivers
 * it through its SMTP settings and records the outcome in the document's `delivery` field. The
 * document id is the message's, so a retried hand-over writes the same document once.
 */
import { createOnce, type DocumentStore } from '../store/port.ts';
import type { MailDriver } from './port.ts';

export function createFirestoreMailDriver(store: DocumentStore, collection: string): MailDriver {
  return {
    name: 'firestore-mail',
    async send({ id, to, from, subject, text, html }, signal) {
      signal.throwIfAborted();
      // False when it was handed over already: nothing more to do.
      await createOnce(store, collection, id, { to, from, message: { subject, text, html } });
    },
    async close() {},
  };
}
