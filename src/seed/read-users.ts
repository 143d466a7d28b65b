/**
 * Reads users to import from a CSV file (with a `name,email` header) or an
 * NDJSON file (one `{"name","email"}` object a line), streaming, with the
 * line number of every row so errors can point at it.
 */
import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { type CsvError, parse } from "csv-parse";
import { UsageError } from "../errors.ts";

export type UserFileFormat = "csv" | "ndjson";

/** One row: the raw fields, or why the line could not be read at all. */
export type UserRow =
	| {
			readonly line: number;
			readonly fields: Readonly<Record<string, unknown>>;
	  }
	| { readonly line: number; readonly error: string };

/** The format, from the file's extension. */
export function detectFormat(path: string): UserFileFormat {
	const extension = extname(path).toLowerCase();
	if (extension === ".csv") return "csv";
	if (extension === ".ndjson" || extension === ".jsonl") return "ndjson";
	throw new UsageError(`--file: ${path} must end in .csv, .ndjson or .jsonl`);
}

/** Streams the rows of a users file. */
export function readUserRows(
	path: string,
	format: UserFileFormat,
): AsyncGenerator<UserRow> {
	return format === "csv" ? readCsv(path) : readNdjson(path);
}

async function* readNdjson(path: string): AsyncGenerator<UserRow> {
	const lines = createInterface({
		input: createReadStream(path, "utf8"),
		crlfDelay: Number.POSITIVE_INFINITY,
	});
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

async function* readCsv(path: string): AsyncGenerator<UserRow> {
	// Rows csv-parse cannot read (a wrong number of fields) are skipped by the
	// parser and reported here, in line order with the rest.
	const skipped: UserRow[] = [];
	const parser = createReadStream(path).pipe(
		parse({
			bom: true,
			columns: checkHeader,
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
		if (error instanceof UsageError) throw error;
		yield* skipped.splice(0);
		yield {
			line: lineOf(error),
			error: `malformed CSV: ${error instanceof Error ? error.message : String(error)}`,
		};
	}
}

function checkHeader(header: string[]): string[] {
	const columns = header.map((column) => column.trim().toLowerCase());
	if (!columns.includes("name") || !columns.includes("email")) {
		throw new UsageError(
			`--file: the CSV header must name the columns name and email, got "${header.join(",")}"`,
		);
	}
	return columns;
}

function lineOf(error: unknown): number {
	const lines = (error as { lines?: unknown } | undefined)?.lines;
	return typeof lines === "number" ? lines : 0;
}
