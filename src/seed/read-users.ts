/**
 * Reads users to import from a CSV file (with a `name,email` header) or an
 * NDJSON file (one `{"name","email"}` object a line), streaming, with the
 * line number where every row starts so errors can point at it. Records and
 * lines are capped at {@link MAX_RECORD_CHARS}, so memory stays bounded
 * whatever the file holds.
 */
import type { UserFileFormat } from "../config/seed.ts";
import { type BoundedLine, boundedLines } from "./bounded-lines.ts";
import { readCsv } from "./read-csv.ts";
import { Input, MAX_RECORD_CHARS, type UserRow } from "./user-file.ts";

export { MAX_RECORD_CHARS, type UserRow } from "./user-file.ts";

const TOO_LONG = `a line longer than ${MAX_RECORD_CHARS} characters`;

/**
 * Streams the rows of a users file. A failure to read the file (it vanished,
 * it is a directory, an I/O error) rejects with a CommandError naming it. A
 * CSV header without name and email rejects with an error that names
 * `origin`, the flag or variable that named the file.
 */
export function readUserRows(
	path: string,
	format: UserFileFormat,
	origin: string,
): AsyncGenerator<UserRow> {
	return format === "csv" ? readCsv(path, origin) : readNdjson(path);
}

async function* readNdjson(path: string): AsyncGenerator<UserRow> {
	const input = new Input(path);
	try {
		yield* ndjsonRows(
			boundedLines(input.stream.setEncoding("utf8"), MAX_RECORD_CHARS),
		);
	} catch (error) {
		throw input.failure ?? error;
	} finally {
		input.stream.destroy();
	}
}

async function* ndjsonRows(
	lines: AsyncIterable<BoundedLine>,
): AsyncGenerator<UserRow> {
	for await (const read of lines) {
		const { line } = read;
		if ("tooLong" in read) {
			yield { line, error: TOO_LONG };
			continue;
		}
		// A BOM (as some editors write) would make the first line invalid JSON.
		const text = line === 1 ? read.text.replace(/^\uFEFF/, "") : read.text;
		if (text.trim() === "") continue;
		let value: unknown;
		try {
			value = JSON.parse(text);
		} catch {
			yield { line, error: "not valid JSON" };
			continue;
		}
		if (value === null || typeof value !== "object" || Array.isArray(value)) {
			yield {
				line,
				error: 'expected a JSON object like {"name":"…","email":"…"}',
			};
			continue;
		}
		yield { line, fields: value as Record<string, unknown> };
	}
}
