/**
 * Splits a text stream into numbered lines of at most `maxChars` each, in
 * memory bounded by that and by the stream's chunk size, however long the
 * file's lines are. Node's readline keeps a whole line, whatever its length,
 * in memory.
 */

/** A line of text, or the number of a line that was longer than allowed (its text is dropped). */
export type BoundedLine =
	| { readonly line: number; readonly text: string }
	| { readonly line: number; readonly tooLong: true };

/** Yields the lines of `chunks` (LF or CRLF), skipping over the rest of each line longer than `maxChars`. */
export async function* boundedLines(
	chunks: AsyncIterable<string>,
	maxChars: number,
): AsyncGenerator<BoundedLine> {
	let line = 1;
	let pending = "";
	// True while the rest of a line that was too long is dropped.
	let skipping = false;
	for await (const chunk of chunks) {
		let start = 0;
		for (;;) {
			const end = chunk.indexOf("\n", start);
			if (!skipping) {
				pending += chunk.slice(start, end === -1 ? undefined : end);
				// One more character may be the \r of a CRLF line end.
				if (pending.length > maxChars + 1) {
					yield { line, tooLong: true };
					skipping = true;
					pending = "";
				}
			}
			if (end === -1) break;
			if (!skipping) yield finish(line, pending, maxChars);
			pending = "";
			skipping = false;
			line += 1;
			start = end + 1;
		}
	}
	if (!skipping && pending !== "") yield finish(line, pending, maxChars);
}

function finish(line: number, pending: string, maxChars: number): BoundedLine {
	const text = pending.endsWith("\r") ? pending.slice(0, -1) : pending;
	return text.length > maxChars ? { line, tooLong: true } : { line, text };
}
