/**
 * Names: what a client's file name may contribute (a lower-cased extension, and a sanitised
 * copy kept as metadata, never as a path). Where a blob is stored: policy/owned-data.ts.
 */
import { cleanText } from '../validation/text.ts';

const MAX_NAME_CHARACTERS = 200;

/**
 * The file name as metadata: its last path segment, cleaned by the text rule (validation/text.ts:
 * NFC, every control, invisible, reordering or unassigned character removed), at most 200 characters.
 */
export function sanitiseFileName(name: string | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  const clean = cleanText(base).trim();
  const characters = Array.from(clean);
  if (characters.length === 0) return 'unnamed';
  if (characters.length <= MAX_NAME_CHARACTERS) return clean;
  // Keep the extension visible when shortening.
  const dot = clean.lastIndexOf('.');
  const extension = dot > 0 && clean.length - dot <= 10 ? clean.slice(dot) : '';
  // A cut may leave a joiner without the letter after it: clean again.
  return cleanText(characters.slice(0, MAX_NAME_CHARACTERS - Array.from(extension).length).join('') + extension);
}

/** The lower-cased extension of a sanitised file name (`photo.JPG` → `jpg`), or null if it has none. */
export function extensionOf(sanitisedName: string): string | null {
  const dot = sanitisedName.lastIndexOf('.');
  return dot > 0 && dot < sanitisedName.length - 1 ? sanitisedName.slice(dot + 1).toLowerCase() : null;
}
