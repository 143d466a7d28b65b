/**
 * Reads users to import from a CSV file (with a `name,email` header) or an
 * NDJSON file (one `{"name","email"}` object a line), streaming, with the
 * line number of every row so errors can point at it.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { type CsvError, parse } from "csv-parse";
import type { UserFileFormat } from "../config/seed.ts";
import { CommandError, UsageError } from "../exit-codes.ts";
import { describeFsError } from "../fs-errors.ts";

/** One row: the raw fields, or why the line could not be read at all. */
export type UserRow =
	| {
			readonly line: number;
			readonly fields: Readonly<Record<string, unknown>>;
	  }
	| { readonly line: number; readonly error: string };

/**
 * Streams the rows of a users file. A failure to read the file (it vanished,
 * it is a directory, an I/O error) rejects with a CommandError naming it; a
 * CSV header without name and email, with a UsageError naming `origin`, the flag or variable that named the file.
 */
export function readUserRows(
	path: string,
	format: UserFileFormat,
	origin: string,
): AsyncGenerator<UserRow> {
	return format === "csv" ? readCsv(path, origin) : readNdjson(path);
}

/** A read stream of the file that keeps, as a CommandError, the error it failed with. */
class Input {
	readonly stream: ReadStream;
	failure: CommandError | undefined;

	constructor(path: string) {
		this.stream = createReadStream(path);
		this.stream.once("error", (error) => {
			this.failure = new CommandError(
				`cannot read ${path} (${describeFsError(error)})`,
				{ cause: error },
			);
		});
	}
}

async function* readNdjson(path: string): AsyncGenerator<UserRow> {
	const input = new Input(path);
	// readline turns the stream's error into an error of the iteration.
	const lines = createInterface({
		input: input.stream.setEncoding("utf8"),
		crlfDelay: Number.POSITIVE_INFINITY,
	});
	try {
		yield* ndjsonRows(lines);
	} catch (error) {
		throw input.failure ?? error;
	} finally {
		lines.close();
		input.stream.destroy();
	}
}

async function* ndjsonRows(
	lines: AsyncIterable<string>,
): AsyncGenerator<UserRow> {
	let line = 0;
	for await (const raw of lines) {
		line += 1;
		// A BOM (as some editors write) would make the first line invalid JSON.
		const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
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

async function* readCsv(path: string, origin: string): AsyncGenerator<UserRow> {
	// Rows csv-parse cannot read (a wrong number of fields) are skipped by the
	// parser and reported here, in line order with the rest.
	const skipped: UserRow[] = [];
	const input = new Input(path);
	const parser = input.stream.pipe(
		parse({
			bom: true,
			columns: (header: string[]) => checkHeader(header, origin),
			info: true,
			skip_empty_lines: true,
			skip_records_with_error: true,
			on_skip: (error: CsvError | undefined) => {
				skipped.push({
					line: lineOf(error),
					error: `malformed CSV: ${error?.message ?? "unreadable row"}`,
				});
				return undefined;
			},
		}),
	);
	// pipe() does not pass on the stream's errors: without this, a read error
	// would be an unhandled 'error' event and the parser would wait forever.
	input.stream.once("error", () => parser.destroy(input.failure));
	try {
		for await (const { info, record } of parser as AsyncIterable<{
			info: { lines: number };
			record: Record<string, unknown>;
		}>) {
			// The parser runs ahead of this loop, so `skipped` may already hold
			// rows after this record: yield only those before it.
			while (skipped[0] !== undefined && skipped[0].line < info.lines) {
				yield skipped.shift() as UserRow;
			}
			yield { line: info.lines, fields: record };
		}
		yield* skipped.splice(0);
	} catch (error) {
		if (input.failure) throw input.failure;
		if (error instanceof UsageError) throw error;
		yield* skipped.splice(0);
		yield {
			line: lineOf(error),
			error: `malformed CSV: ${error instanceof Error ? error.message : String(error)}`,
		};
	} finally {
		// Stop reading when the parser failed or the caller stopped early.
		input.stream.destroy();
	}
}

function checkHeader(header: string[], origin: string): string[] {
	const columns = header.map((column) => column.trim().toLowerCase());
	if (!columns.includes("name") || !columns.includes("email")) {
		throw new UsageError(
			`${origin}: the CSV header must name the columns name and email, got "${header.join(",")}"`,
		);
	}
	return columns;
}

function lineOf(error: unknown): number {
	const lines = (error as { lines?: unknown } | undefined)?.lines;
	return typeof lines === "number" ? lines : 0;
}
