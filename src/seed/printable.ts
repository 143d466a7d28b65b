/**
 * What an imported file may put on the operator's terminal. Its text is
 * shown escaped and cut short: a control character (an escape sequence, a
 * carriage return) or a bidirectional override could rewrite or reorder
 * what the terminal shows, and a huge header would flood it.
 */

/** The most characters of a file's text that one message shows. */
export const MAX_ECHOED_CHARS = 80;

/**
 * C0 and C1 controls (tab and newline included) and DEL, the bidirectional
 * marks, embeddings, overrides and isolates, and the line and paragraph
 * separators. ZWJ and ZWNJ stay allowed: names in several scripts need them.
 */
const UNPRINTABLE =
	/[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");

/** The first character that must not be imported or shown, as `U+XXXX`, if any. */
export function findUnprintable(text: string): string | undefined {
	const found = UNPRINTABLE.exec(text)?.[0];
	return found === undefined ? undefined : codePoint(found);
}

/** `text` with each unprintable character as `\u{…}`, cut to `max` characters with an ellipsis. */
export function printable(text: string, max = MAX_ECHOED_CHARS): string {
	const characters = [...text];
	const shown =
		characters.length > max ? `${characters.slice(0, max).join("")}…` : text;
	return shown.replace(
		UNPRINTABLE_ALL,
		(character) => `\\u{${character.codePointAt(0)?.toString(16)}}`,
	);
}

function codePoint(character: string): string {
	return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}
