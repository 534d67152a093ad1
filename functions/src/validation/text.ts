/**
 * The one rule for text that people give us and others are shown (item names and
 * descriptions, upload file names): what is shown is what is stored. Text is NFC-normalised,
 * and a character that is invisible, that reorders the text around it, or that no font can
 * show is not allowed:
 *
 * - controls (`\p{Cc}`: C0, DEL, C1), except tab and line feed in multi-line fields (where a
 *   carriage return, alone or before a line feed, becomes a line feed);
 * - format characters (`\p{Cf}`): the bidi controls U+061C, U+200E/F, U+202A–202E,
 *   U+2066–2069; the zero-width U+200B, U+2060, U+FEFF; the soft hyphen; the tag characters
 *   U+E0001 and U+E0020–E007F; and the others of the category. The one exception is the joiners
 *   U+200C and U+200D between two letters (Persian, Indic scripts need them) and U+200D between
 *   two emoji (👩‍💻): there they change how letters join, they neither hide nor reorder;
 * - the line and paragraph separators U+2028 and U+2029 (`\p{Zl}`, `\p{Zp}`);
 * - private-use (`\p{Co}`), unassigned (`\p{Cn}`, in the Unicode version of this Node, the
 *   noncharacters such as U+FFFF included) and lone surrogates (`\p{Cs}`);
 * - the other default-ignorable code points, which fonts draw as nothing (the Hangul fillers
 *   U+115F, U+1160, U+3164, U+FFA0, the combining grapheme joiner…), variation selectors
 *   excepted (U+FE0F makes ❤ an emoji).
 *
 * Fields a client sends (JSON bodies) are refused with 400 naming the character: changing them
 * silently would store something other than what the person sent. Text taken from a file (an
 * upload's file name, kept only as metadata) is cleaned instead: the file is what is being
 * sent, and its name is whatever the sender's system made it.
 */
import { z } from 'zod';

export interface TextRuleOptions {
  /** Tab and line feed allowed (and carriage returns turned into line feeds). Default: false. */
  multiline?: boolean;
}

/** U+200C/U+200D between two letters (a letter's combining marks included), or U+200D between two emoji. */
const JOINER_IN_CONTEXT =
  String.raw`(?<=[\p{L}\p{M}])[\u200C\u200D](?=\p{L})` + String.raw`|(?<=[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F])\u200D(?=\p{Extended_Pictographic})`;
const NOT_ALLOWED = String.raw`[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]` + String.raw`|(?!\p{Variation_Selector})\p{Default_Ignorable_Code_Point}`;

function rule(multiline: boolean): RegExp {
  const kept = multiline ? String.raw`|[\t\n]` : '';
  return new RegExp(String.raw`(?!${JOINER_IN_CONTEXT}${kept})(?:${NOT_ALLOWED})`, 'gu');
}

const SINGLE_LINE = rule(false);
const MULTI_LINE = rule(true);
const CARRIAGE_RETURNS = /\r\n?/g;

const ruleFor = (options: TextRuleOptions) => (options.multiline ? MULTI_LINE : SINGLE_LINE);
const prepared = (text: string, options: TextRuleOptions) => (options.multiline ? text.replace(CARRIAGE_RETURNS, '\n') : text);

/** `U+202E`: how a character is named in messages. */
export function codePointName(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The first character the rule does not allow, or undefined. */
export function firstDisallowed(text: string, options: TextRuleOptions = {}): string | undefined {
  const pattern = ruleFor(options);
  pattern.lastIndex = 0;
  return pattern.exec(prepared(text, options))?.[0];
}

/** The text with every character the rule does not allow removed, NFC. For text taken from files. */
export function cleanText(text: string, options: TextRuleOptions = {}): string {
  return prepared(text, options).replace(ruleFor(options), '').normalize('NFC');
}

export interface TextFieldOptions extends TextRuleOptions {
  /** Bounds in UTF-16 code units, after normalising and trimming. */
  min: number;
  max: number;
}

/**
 * A text field of a JSON body under the rule: refused (naming the first character not
 * allowed) rather than changed, then NFC-normalised and trimmed, then its length checked.
 */
export function textField({ min, max, multiline = false }: TextFieldOptions) {
  const options = { multiline };
  const controls = multiline ? 'no control character but tab and line feed' : 'no control character';
  return z
    .string()
    .check((ctx) => {
      const found = firstDisallowed(ctx.value, options);
      if (found !== undefined) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `must not contain ${codePointName(found)}: ${controls}, and no invisible, reordering, private-use or unassigned one`,
        });
      }
    })
    .overwrite((value) => prepared(value, options).normalize('NFC'))
    .trim()
    .min(min, `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .meta({
      description:
        `NFC, trimmed; ${controls}${multiline ? ' (CR and CRLF become LF)' : ''}, no format character (bidi controls, ` +
        'zero-width spaces, tags; U+200C/U+200D only between letters or emoji), no U+2028/U+2029, no private-use, ' +
        'unassigned or default-ignorable code point. Anything else is refused, never changed.',
    });
}
