/**
 * Reads a users CSV file (with a header naming name and email), numbering
 * each row by the line it starts on. A row with the wrong number of fields
 * is reported and reading goes on; after any other error (a quote, a record
 * longer than {@link MAX_RECORD_CHARS}) reading stops there.
 */
import type { ReadStream } from "node:fs";
import { type CsvError, type Parser, parse } from "csv-parse";
import { errorCode } from "../error-code.ts";
import { InputFileError } from "../exit-codes.ts";
import { MAX_ECHOED_CHARS, printable } from "./printable.ts";
import { Input, MAX_RECORD_CHARS, type UserRow } from "./user-file.ts";

/** Streams the rows of a CSV file; a header without name and email is a InputFileError naming `origin`. */
export async function* readCsv(
	path: string,
	origin: string,
): AsyncGenerator<UserRow> {
	// Rows csv-parse cannot read (a wrong number of fields) are skipped by the
	// parser and reported here, in line order with the rest.
	const skipped: UserRow[] = [];
	const input = new Input(path);
	const parser = parseCsv(input.stream, origin, skipped);
	// pipe() does not pass on the stream's errors: without this, a read error
	// would be an unhandled 'error' event and the parser would wait forever.
	input.stream.once("error", () => parser.destroy(input.failure));
	try {
		for await (const row of parser as AsyncIterable<UserRow>) {
			// The parser runs ahead of this loop, so `skipped` may already hold
			// rows after this record: yield only those before it.
			while (skipped[0] !== undefined && skipped[0].line < row.line) {
				yield skipped.shift() as UserRow;
			}
			yield row;
		}
		yield* skipped.splice(0);
	} catch (error) {
		if (input.failure) throw input.failure;
		if (error instanceof InputFileError) throw error;
		yield* skipped.splice(0);
		yield error instanceof UnreadableCsv
			? { line: error.line ?? 0, error: `malformed CSV: ${error.message}` }
			: {
					line: lineOf(error),
					error: `malformed CSV: ${describeCsvError(error)}`,
				};
	} finally {
		// Stop reading when the parser failed or the caller stopped early.
		input.stream.destroy();
	}
}

/**
 * The CSV parser: rows come out as `{ line, fields }`, numbered by the line
 * they start on; rows with the wrong number of fields go to `skipped`; any
 * other error stops the parser with an {@link UnreadableCsv}.
 */
function parseCsv(
	stream: ReadStream,
	origin: string,
	skipped: UserRow[],
): Parser {
	const starts = new RecordStarts();
	const parser: Parser = stream.pipe(
		parse({
			bom: true,
			columns: (header: string[]) => {
				starts.ended(parser.info);
				return checkHeader(header, origin);
			},
			info: true,
			max_record_size: MAX_RECORD_CHARS,
			skip_empty_lines: true,
			skip_records_with_error: true,
			on_record: (
				entry: { record: Record<string, unknown> },
				info: CsvCounts,
			) => {
				const line = starts.startOf(info);
				starts.ended(info);
				return { line, fields: entry.record };
			},
			on_skip: (error: CsvError | undefined) => {
				const line = error ? starts.startOf(countsOf(error)) : undefined;
				// After any error but a wrong number of fields (a quote, a record
				// too long), where the next record begins is anyone's guess: stop.
				if (!error || !RECOVERABLE.has(error.code))
					throw new UnreadableCsv(line, describeCsvError(error));
				starts.ended(countsOf(error));
				skipped.push({
					line: line ?? 0,
					error: `malformed CSV: ${describeCsvError(error)}`,
				});
				return undefined;
			},
		}),
	);
	return parser;
}

/** Errors after which reading goes on: the record ended where it should, with the wrong number of fields. */
const RECOVERABLE = new Set([
	"CSV_RECORD_INCONSISTENT_FIELDS_LENGTH",
	"CSV_RECORD_INCONSISTENT_COLUMNS",
]);

/** A CSV error after which the rest of the file is not read, at the line its record starts on. */
class UnreadableCsv extends Error {
	readonly line: number | undefined;

	constructor(line: number | undefined, message: string) {
		super(message);
		this.line = line;
	}
}

/** The parser's line counts, as its `info` and its errors carry them. */
interface CsvCounts {
	readonly lines: number;
	readonly empty_lines: number;
}

/** The line counts a CsvError carries (csv-parse copies its info into it). */
function countsOf(error: CsvError): CsvCounts {
	return error as unknown as CsvCounts;
}

/**
 * Where records start. csv-parse says on which line a record ends (or
 * fails); the next one starts on the line after, past the empty lines
 * skipped in between. A record can span lines: a quoted field may hold
 * line breaks, or a quote may never be closed.
 */
class RecordStarts {
	#lastEnd = 0;
	#emptyBefore = 0;

	startOf(counts: CsvCounts): number {
		return this.#lastEnd + 1 + (counts.empty_lines - this.#emptyBefore);
	}

	ended(counts: CsvCounts): void {
		this.#lastEnd = counts.lines;
		this.#emptyBefore = counts.empty_lines;
	}
}

/** A CSV error in words, with none of the file's text unescaped or at length. */
function describeCsvError(error: unknown): string {
	const code = errorCode(error);
	if (code === "CSV_MAX_RECORD_SIZE")
		return `a record longer than ${MAX_RECORD_CHARS} characters starts here (a quote that is never closed?)`;
	if (code === "CSV_QUOTE_NOT_CLOSED")
		return "a quote opened in this record is never closed";
	const message = error instanceof Error ? error.message : "unreadable row";
	return printable(message, 2 * MAX_ECHOED_CHARS);
}

/** Lower-cased, trimmed column names; a header without name and email is a InputFileError that shows it escaped and cut short. */
function checkHeader(header: string[], origin: string): string[] {
	const columns = header.map((column) => column.trim().toLowerCase());
	if (!columns.includes("name") || !columns.includes("email")) {
		throw new InputFileError(
			`${origin}: the CSV header must name the columns name and email, got "${printable(header.join(","))}"`,
		);
	}
	return columns;
}

function lineOf(error: unknown): number {
	const lines = (error as { lines?: unknown } | undefined)?.lines;
	return typeof lines === "number" ? lines : 0;
}
