/**
 * The text rule, character by character: a table written by hand of what a single-line and a
 * multi-line field allow, one or more characters of each class, and what cleaning a file name
 * keeps. (Over HTTP: test/items/items.test.ts and test/uploads/uploads.test.ts.)
 */
import assert from 'node:assert/strict';
import { cleanText, codePointName, firstDisallowed, textField } from '../../functions/src/validation/text.ts';

/** [what, the character, allowed on one line, allowed in a multi-line field] */
const CHARACTERS: [string, string, boolean, boolean][] = [
  // C0, DEL, C1 controls
  ['NUL', '\u0000', false, false],
  ['BEL', '\u0007', false, false],
  ['tab', '\t', false, true],
  ['line feed', '\n', false, true],
  ['vertical tab', '\u000B', false, false],
  ['form feed', '\u000C', false, false],
  ['escape', '\u001B', false, false],
  ['DEL', '\u007F', false, false],
  ['NEL (C1)', '\u0085', false, false],
  ['CSI (C1)', '\u009B', false, false],
  // bidi controls
  ['ARABIC LETTER MARK', '\u061C', false, false],
  ['LEFT-TO-RIGHT MARK', '\u200E', false, false],
  ['RIGHT-TO-LEFT MARK', '\u200F', false, false],
  ['LEFT-TO-RIGHT EMBEDDING', '\u202A', false, false],
  ['RIGHT-TO-LEFT EMBEDDING', '\u202B', false, false],
  ['POP DIRECTIONAL FORMATTING', '\u202C', false, false],
  ['LEFT-TO-RIGHT OVERRIDE', '\u202D', false, false],
  ['RIGHT-TO-LEFT OVERRIDE', '\u202E', false, false],
  ['LEFT-TO-RIGHT ISOLATE', '\u2066', false, false],
  ['RIGHT-TO-LEFT ISOLATE', '\u2067', false, false],
  ['FIRST STRONG ISOLATE', '\u2068', false, false],
  ['POP DIRECTIONAL ISOLATE', '\u2069', false, false],
  // zero-width and other invisible format characters
  ['ZERO WIDTH SPACE', '\u200B', false, false],
  ['WORD JOINER', '\u2060', false, false],
  ['INVISIBLE TIMES', '\u2062', false, false],
  ['ZERO WIDTH NO-BREAK SPACE (BOM)', '\uFEFF', false, false],
  ['SOFT HYPHEN', '\u00AD', false, false],
  ['MONGOLIAN VOWEL SEPARATOR', '\u180E', false, false],
  ['INTERLINEAR ANNOTATION ANCHOR', '\uFFF9', false, false],
  ['LANGUAGE TAG', '\u{E0001}', false, false],
  ['TAG LATIN SMALL LETTER A', '\u{E0061}', false, false],
  ['CANCEL TAG', '\u{E007F}', false, false],
  // separators
  ['LINE SEPARATOR', '\u2028', false, false],
  ['PARAGRAPH SEPARATOR', '\u2029', false, false],
  // private use, unassigned, noncharacters, lone surrogates
  ['private use (BMP)', '\uE000', false, false],
  ['private use (plane 15)', '\u{F0000}', false, false],
  ['unassigned', '\u0378', false, false],
  ['noncharacter U+FFFF', '\uFFFF', false, false],
  ['noncharacter U+FDD0', '\uFDD0', false, false],
  ['lone high surrogate', '\uD800', false, false],
  ['lone low surrogate', '\uDC00', false, false],
  // default-ignorable, drawn as nothing
  ['HANGUL FILLER', '\u3164', false, false],
  ['HANGUL CHOSEONG FILLER', '\u115F', false, false],
  ['HALFWIDTH HANGUL FILLER', '\uFFA0', false, false],
  ['COMBINING GRAPHEME JOINER', '\u034F', false, false],
  // what people write
  ['a letter', 'a', true, true],
  ['a space', ' ', true, true],
  ['NO-BREAK SPACE', '\u00A0', true, true],
  ['IDEOGRAPHIC SPACE', '\u3000', true, true],
  ['an accented letter', 'é', true, true],
  ['a combining accent', '\u0301', true, true],
  ['Arabic', 'م', true, true],
  ['Chinese', '灯', true, true],
  ['an emoji', '💡', true, true],
  ['VARIATION SELECTOR-16', '\uFE0F', true, true],
];

describe('the text rule (validation/text.ts)', function () {
  for (const [what, character, oneLine, multiLine] of CHARACTERS) {
    it(`${codePointName(character)} ${what}: ${oneLine ? 'allowed' : 'refused'} on one line, ${multiLine ? 'allowed' : 'refused'} in a multi-line field`, function () {
      const text = `Desk${character}lamp`;
      assert.equal(firstDisallowed(text), oneLine ? undefined : character);
      assert.equal(firstDisallowed(text, { multiline: true }), multiLine ? undefined : character);
      assert.equal(cleanText(text), oneLine ? text.normalize('NFC') : 'Desklamp');
    });
  }

  describe('the joiners U+200C and U+200D', function () {
    const cases: [string, string, boolean][] = [
      ['ZWNJ between Persian letters', 'می\u200Cخواهم', true],
      ['ZWJ after a virama (Devanagari)', 'क्\u200Dष', true],
      ['ZWJ between emoji', '👩\u200D💻', true],
      ['ZWJ after a skin tone', '👩🏽\u200D💻', true],
      ['ZWJ after VS16', '❤\uFE0F\u200D🔥', true],
      ['ZWJ at the start', '\u200Dlamp', false],
      ['ZWNJ at the end', 'lamp\u200C', false],
      ['ZWJ between a letter and a space', 'a\u200D b', false],
      ['ZWNJ between emoji', '👩\u200C💻', false],
      ['ZWJ between digits', '1\u200D2', false],
      ['two joiners in a row', 'a\u200D\u200Db', false],
    ];
    for (const [what, text, allowed] of cases) {
      it(`${what}: ${allowed ? 'allowed' : 'refused'}`, function () {
        assert.equal(firstDisallowed(text) === undefined, allowed);
      });
    }
  });

  describe('textField, for JSON bodies', function () {
    const name = textField({ min: 3, max: 10 });
    const description = textField({ min: 3, max: 10, multiline: true });

    it('refuses, naming the first character not allowed, and never changes it silently', function () {
      const result = name.safeParse('evil\u202Egnp');
      assert.equal(result.success, false);
      assert.match(result.error.issues[0]!.message, /must not contain U\+202E/);
      assert.match(description.safeParse('a\u0085b c').error!.issues[0]!.message, /U\+0085/);
    });

    it('normalises to NFC, then trims, then counts', function () {
      assert.equal(name.parse('  Cafe\u0301  '), 'Café');
      assert.equal(name.parse('e\u0301'.repeat(10)), 'é'.repeat(10), '20 code units, 10 after NFC');
      assert.equal(name.safeParse(' ab ').success, false, 'too short once trimmed');
    });

    it('in a multi-line field keeps tabs and line feeds, and turns carriage returns into line feeds', function () {
      assert.equal(description.parse('a\r\nb\rc\td'), 'a\nb\nc\td');
      assert.equal(name.safeParse('a\nb c').success, false);
    });
  });

  describe('cleanText, for names taken from files', function () {
    it('removes what is not allowed, keeps the rest, NFC', function () {
      assert.equal(cleanText('\u202Eevil\u200B\u2066.png\u{E0041}\u2028'), 'evil.png');
      assert.equal(cleanText('Cafe\u0301\u00AD.png'), 'Café.png');
      assert.equal(cleanText('👩\u200D💻.png'), '👩\u200D💻.png');
      assert.equal(cleanText('tab\there'), 'tabhere');
      assert.equal(cleanText('e\u200B\u0301'), '\u00E9', 'NFC after removing: the accent meets its letter');
    });
  });
});
