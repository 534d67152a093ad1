import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 20 random base62 characters (~119 bits), like Firestore's auto ids. */
export function newDocumentId(): string {
  let id = '';
  while (id.length < 20) {
    for (const byte of randomBytes(32)) {
      // 248 = 4 × 62: reject the top bytes so every character is equally likely
      if (byte < 248 && id.length < 20) id += ALPHABET.charAt(byte % 62);
    }
  }
  return id;
}

export const DOCUMENT_ID_PATTERN = /^[A-Za-z0-9]{20}$/;
