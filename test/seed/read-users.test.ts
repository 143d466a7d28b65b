import { execFileSync } from "node:child_process";
import { createWriteStream, readdirSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { detectFormat, type UserFileFormat } from "../../src/config/seed.ts";
import { ConfigError, InputFileError } from "../../src/exit-codes.ts";
import { findUnprintable } from "../../src/seed/printable.ts";
import {
	MAX_RECORD_CHARS,
	readUserRows,
	type UserRow,
} from "../../src/seed/read-users.ts";

/** Writes `content` to a temp file named `name` and reads every row of it. */
async function readAll(
	t: Test,
	name: string,
	content: string,
	format: UserFileFormat = name.endsWith(".csv") ? "csv" : "ndjson",
): Promise<UserRow[]> {
	const dir = t.testdir({ [name]: content });
	const rows: UserRow[] = [];
	for await (const row of readUserRows(join(dir, name), format, "--file"))
		rows.push(row);
	return rows;
}

t.test("detectFormat", async (t) => {
	t.equal(detectFormat("users.csv", "--file"), "csv");
	t.equal(detectFormat("/data/Users.CSV", "--file"), "csv", "case-insensitive");
	t.equal(detectFormat("users.ndjson", "--file"), "ndjson");
	t.equal(detectFormat("dir.v2/users.jsonl", "--file"), "ndjson");
	for (const path of ["users.txt", "users", "users.csv.gz", "csv"]) {
		t.throws(
			() => detectFormat(path, "--file"),
			ConfigError,
			`${path} is not a users file`,
		);
	}
	t.throws(() => detectFormat("users.json", "--file"), {
		name: "ConfigError",
		message: /users\.json must end in \.csv, \.ndjson or \.jsonl/,
	});
	t.throws(() => detectFormat("users.json", "SEED_FILE"), {
		name: "ConfigError",
		message: /^SEED_FILE: users\.json must end in/,
	});
});

t.test("CSV: a header and plain rows, with line numbers", async (t) => {
	t.same(
		await readAll(t, "u.csv", "name,email\nAda,ada@x.org\nBo,bo@x.org\n"),
		[
			{ line: 2, fields: { name: "Ada", email: "ada@x.org" } },
			{ line: 3, fields: { name: "Bo", email: "bo@x.org" } },
		],
	);
});

t.test("CSV: quoted fields may hold commas and quotes", async (t) => {
	t.same(
		await readAll(
			t,
			"u.csv",
			'name,email\n"Doe, John",john@x.org\n"Say ""hi""",hi@x.org\n',
		),
		[
			{ line: 2, fields: { name: "Doe, John", email: "john@x.org" } },
			{ line: 3, fields: { name: 'Say "hi"', email: "hi@x.org" } },
		],
	);
});

t.test("CSV: BOM, CRLF and empty lines", async (t) => {
	t.same(
		await readAll(
			t,
			"u.csv",
			"\uFEFFname,email\r\nAda,ada@x.org\r\n\r\n\r\nBo,bo@x.org\r\n\r\n",
		),
		[
			{ line: 2, fields: { name: "Ada", email: "ada@x.org" } },
			{ line: 5, fields: { name: "Bo", email: "bo@x.org" } },
		],
		"the BOM does not stick to the first column, empty lines keep counting",
	);
});

t.test("CSV: columns in any order, header case-insensitive", async (t) => {
	t.same(await readAll(t, "u.csv", "email,name\nada@x.org,Ada\n"), [
		{ line: 2, fields: { email: "ada@x.org", name: "Ada" } },
	]);
	t.same(await readAll(t, "v.csv", " Email , NAME \nada@x.org,Ada\n"), [
		{ line: 2, fields: { email: "ada@x.org", name: "Ada" } },
	]);
});

t.test("CSV: a header without email is an InputFileError", async (t) => {
	await t.rejects(readAll(t, "u.csv", "name,mail\nAda,ada@x.org\n"), {
		name: "InputFileError",
		message: /header must name the columns name and email, got "name,mail"/,
	});
	const path = join(t.testdir({ "u.csv": "mail\n" }), "u.csv");
	await t.rejects(readUserRows(path, "csv", "SEED_FILE").next(), {
		name: "InputFileError",
		message: /^SEED_FILE: the CSV header must name the columns/,
	});
	await t.rejects(
		readAll(t, "v.csv", "Ada,ada@x.org\nBo,bo@x.org\n"),
		InputFileError,
		"a file without a header",
	);
});

t.test(
	"CSV: a row with the wrong number of fields is reported, reading goes on",
	async (t) => {
		const rows = await readAll(
			t,
			"u.csv",
			"name,email\nAda,ada@x.org\nBo,bo@x.org,extra\nCy\nDi,di@x.org\n",
		);
		t.same(
			rows.map((row) => row.line),
			[2, 3, 4, 5],
			"every row, in line order",
		);
		t.match(rows, [
			{ line: 2, fields: { name: "Ada" } },
			{ line: 3, error: /^malformed CSV: .*got 3 on line 3/ },
			{ line: 4, error: /^malformed CSV: .*got 1 on line 4/ },
			{ line: 5, fields: { name: "Di", email: "di@x.org" } },
		]);
	},
);

t.test("CSV: an unclosed quote is reported, not thrown", async (t) => {
	const rows = await readAll(
		t,
		"u.csv",
		'name,email\nAda,ada@x.org\n"Bo,bo@x.org\nCy,cy@x.org\n',
	);
	t.same(rows, [
		{ line: 2, fields: { name: "Ada", email: "ada@x.org" } },
		{
			line: 3,
			error: "malformed CSV: a quote opened in this record is never closed",
		},
	]);
	t.equal(rows.length, 2, "the rest of the file is inside the quote");
});

t.test("CSV: only a header gives no rows", async (t) => {
	t.same(await readAll(t, "u.csv", "name,email\n"), []);
});

t.test(
	"NDJSON: objects, blank lines, and lines that are not objects",
	async (t) => {
		const rows = await readAll(
			t,
			"u.ndjson",
			[
				'{"name":"Ada","email":"ada@x.org"}',
				"",
				"   ",
				"{not json",
				"[1,2]",
				"null",
				'"a string"',
				'{"email":"bo@x.org","name":"Bo","extra":1}',
			].join("\n"),
		);
		t.same(rows, [
			{ line: 1, fields: { name: "Ada", email: "ada@x.org" } },
			{ line: 4, error: "not valid JSON" },
			{
				line: 5,
				error: 'expected a JSON object like {"name":"…","email":"…"}',
			},
			{
				line: 6,
				error: 'expected a JSON object like {"name":"…","email":"…"}',
			},
			{
				line: 7,
				error: 'expected a JSON object like {"name":"…","email":"…"}',
			},
			{ line: 8, fields: { email: "bo@x.org", name: "Bo", extra: 1 } },
		]);
	},
);

t.test("NDJSON: BOM, CRLF line ends and a .jsonl file", async (t) => {
	t.same(
		await readAll(
			t,
			"u.jsonl",
			'\uFEFF{"name":"Ada","email":"ada@x.org"}\r\n\r\n{"name":"Bo","email":"bo@x.org"}\r\n',
		),
		[
			{ line: 1, fields: { name: "Ada", email: "ada@x.org" } },
			{ line: 3, fields: { name: "Bo", email: "bo@x.org" } },
		],
	);
});

t.test("NDJSON: a BOM is dropped at the start of the file only", async (t) => {
	t.same(
		await readAll(
			t,
			"u.ndjson",
			'{"name":"Ada","email":"ada@x.org"}\n\uFEFF{"name":"Bo","email":"bo@x.org"}\n',
		),
		[
			{ line: 1, fields: { name: "Ada", email: "ada@x.org" } },
			{ line: 2, error: "not valid JSON" },
		],
	);
	t.same(
		await readAll(t, "v.ndjson", '{"name":"A\uFEFFda","email":"ada@x.org"}\n'),
		[{ line: 1, fields: { name: "A\uFEFFda", email: "ada@x.org" } }],
		"nor from inside the first line",
	);
});

t.test("a caller that stops early leaves no file open", async (t) => {
	const rows = Array.from({ length: 5000 }, (_, i) => `U${i},u${i}@x.org`);
	const dir = t.testdir({
		"big.csv": `name,email\n${rows.join("\n")}\n`,
		"big.ndjson": rows
			.map((row) => JSON.stringify({ name: row, email: "u@x.org" }))
			.join("\n"),
	});
	const open = () => readdirSync("/proc/self/fd").length;
	for (const [name, format] of [
		["big.csv", "csv"],
		["big.ndjson", "ndjson"],
	] as const) {
		const before = open();
		for await (const row of readUserRows(join(dir, name), format, "--file")) {
			t.equal(row.line, format === "csv" ? 2 : 1, `${name}: first row`);
			t.ok(open() > before, `${name}: open while read`);
			break;
		}
		// A destroyed stream closes its descriptor on a later turn.
		await new Promise((resolve) => setTimeout(resolve, 100));
		t.equal(open(), before, `${name}: closed after the caller stopped`);
	}
});

t.test(
	"a read error rejects with a CommandError naming the file",
	async (t) => {
		// Opening a directory succeeds; the first read fails with EISDIR.
		const dir = t.testdir({ "dir.csv": {}, "dir.ndjson": {} });
		for (const [name, format] of [
			["dir.csv", "csv"],
			["dir.ndjson", "ndjson"],
			["missing.csv", "csv"],
		] as const) {
			const path = join(dir, name);
			const rows: UserRow[] = [];
			await t.rejects(
				(async () => {
					for await (const row of readUserRows(path, format, "--file"))
						rows.push(row);
				})(),
				{
					name: "CommandError",
					message: `cannot read ${path} (${name.startsWith("dir") ? "EISDIR" : "ENOENT"})`,
					cause: { code: name.startsWith("dir") ? "EISDIR" : "ENOENT" },
				},
				name,
			);
			t.same(rows, [], `${name}: no rows`);
		}
	},
);

t.test("stopping early ends the reading cleanly", async (t) => {
	for (const [name, content] of [
		["u.csv", "name,email\nAda,ada@x.org\nBo,bo@x.org\n"],
		["u.ndjson", '{"name":"Ada"}\n{"name":"Bo"}\n'],
	] as const) {
		const path = join(t.testdir({ [name]: content }), name);
		const rows = readUserRows(
			path,
			name.endsWith(".csv") ? "csv" : "ndjson",
			"--file",
		);
		t.match((await rows.next()).value, { line: name.endsWith(".csv") ? 2 : 1 });
		t.same(await rows.return(undefined), { done: true, value: undefined });
	}
});

t.test("CSV: a record is numbered by the line it starts on", async (t) => {
	t.same(
		await readAll(
			t,
			"u.csv",
			'name,email\n\n"Ada\nLovelace",ada@x.org\n\n\nBo,bo@x.org,extra\n"Cy",cy@x.org\n',
		),
		[
			{ line: 3, fields: { name: "Ada\nLovelace", email: "ada@x.org" } },
			{
				line: 7,
				error:
					"malformed CSV: Invalid Record Length: columns length is 2, got 3 on line 7",
			},
			{ line: 8, fields: { name: "Cy", email: "cy@x.org" } },
		],
	);
});

t.test(
	"CSV: a record longer than the limit is reported where it starts, and reading stops",
	async (t) => {
		const rows = await readAll(
			t,
			"u.csv",
			`name,email\nAda,ada@x.org\n"Bo${"o\n".repeat(MAX_RECORD_CHARS)}",bo@x.org\nCy,cy@x.org\n`,
		);
		t.same(rows, [
			{ line: 2, fields: { name: "Ada", email: "ada@x.org" } },
			{
				line: 3,
				error: `malformed CSV: a record longer than ${MAX_RECORD_CHARS} characters starts here (a quote that is never closed?)`,
			},
		]);
	},
);

t.test(
	"CSV: a header is bounded, and shown escaped and cut short",
	async (t) => {
		const long = await readAll(
			t,
			"u.csv",
			`${"h".repeat(MAX_RECORD_CHARS + 1)},name,email\nAda,ada@x.org\n`,
		);
		t.same(long, [
			{
				line: 1,
				error: `malformed CSV: a record longer than ${MAX_RECORD_CHARS} characters starts here (a quote that is never closed?)`,
			},
		]);
		const error = await readAll(
			t,
			"v.csv",
			`\u001b]0;pwned\u0007${"x".repeat(5000)},mail\nAda,ada@x.org\n`,
		).catch((error: unknown) => error);
		t.type(error, InputFileError);
		const message = (error as Error).message;
		t.ok(message.length < 200, `${message.length} characters`);
		t.match(message, /got "\\u\{1b\}\]0;pwned\\u\{7\}x+…"$/);
		t.equal(findUnprintable(message), undefined, "no control character");
	},
);

t.test(
	"NDJSON: a line longer than the limit is reported, reading goes on",
	async (t) => {
		t.same(
			await readAll(
				t,
				"u.ndjson",
				[
					'{"name":"Ada","email":"ada@x.org"}',
					`{"name":"${"x".repeat(MAX_RECORD_CHARS)}"}`,
					'{"name":"Bo","email":"bo@x.org"}\r',
					`${"y".repeat(MAX_RECORD_CHARS - 2)}\r`,
				].join("\n"),
			),
			[
				{ line: 1, fields: { name: "Ada", email: "ada@x.org" } },
				{
					line: 2,
					error: `a line longer than ${MAX_RECORD_CHARS} characters`,
				},
				{ line: 3, fields: { name: "Bo", email: "bo@x.org" } },
				{ line: 4, error: "not valid JSON" },
			],
		);
	},
);

/**
 * Reads rows from a named pipe that an endless writer fills with `head`
 * then `filler` for ever, until the first error row; returns it and how many
 * bytes the writer got in. Without a bound on a record, no error would ever
 * come: the reader would keep the endless record in memory.
 */
async function firstErrorOfEndlessFile(
	t: Test,
	name: string,
	head: string,
	filler: string,
): Promise<{ row: UserRow | undefined; written: number }> {
	const dir = t.testdir({});
	const fifo = join(dir, name);
	execFileSync("mkfifo", [fifo]);
	const writer = createWriteStream(fifo);
	let written = 0;
	let stopped = false;
	writer.on("error", () => {
		stopped = true;
	});
	const chunk = filler.repeat(Math.ceil(65_536 / filler.length));
	const fill = (async () => {
		writer.write(head);
		// A bound so that a reader that never stops fails the test, not the machine.
		while (!stopped && written < 256 * 1024 * 1024) {
			written += chunk.length;
			if (!writer.write(chunk))
				await new Promise<void>((resolve) => {
					writer.once("drain", () => resolve());
					writer.once("error", () => resolve());
				});
		}
		writer.destroy();
	})();
	let row: UserRow | undefined;
	for await (const read of readUserRows(
		fifo,
		name.endsWith(".csv") ? "csv" : "ndjson",
		"--file",
	)) {
		if ("error" in read) {
			row = read;
			break;
		}
	}
	stopped = true;
	await fill;
	return { row, written };
}

t.test(
	"an endless record is reported early, at the line it starts on",
	async (t) => {
		const csv = await firstErrorOfEndlessFile(
			t,
			"endless.csv",
			'name,email\n"Ada',
			"lovelace,ada@x.org\n",
		);
		t.same(csv.row, {
			line: 2,
			error: `malformed CSV: a record longer than ${MAX_RECORD_CHARS} characters starts here (a quote that is never closed?)`,
		});
		t.ok(csv.written < 16 * 1024 * 1024, `${csv.written} bytes written`);
		const ndjson = await firstErrorOfEndlessFile(
			t,
			"endless.ndjson",
			'{"name":"Ada","email":"ada@x.org"}\n{"name":"',
			"x",
		);
		t.same(ndjson.row, {
			line: 2,
			error: `a line longer than ${MAX_RECORD_CHARS} characters`,
		});
		t.ok(ndjson.written < 16 * 1024 * 1024, `${ndjson.written} bytes written`);
	},
);
