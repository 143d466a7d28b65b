import { join } from "node:path";
import t, { type Test } from "tap";
import { run } from "../../src/commands/seed.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import type { SeedInput } from "../../src/config/seed.ts";
import { CommandError } from "../../src/exit-codes.ts";
import { type CliResult, hasStackTrace, runCli } from "../helpers/cli.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const SAMPLE_EMAILS = [
	"john@example.com",
	"jane@example.com",
	"bob@example.com",
];

const pg = await startPostgres(t);

/** A fresh database migrated to the latest schema, with no users. */
const migratedDatabase = (): Promise<string> => createMigratedDatabase(pg);

interface SeedRun {
	/** Lines passed to `print`. */
	readonly lines: string[];
	/** Chunks written to the progress stream. */
	readonly drawn: string[];
}

/** Runs `sherpany seed` in-process against `url`. */
async function seed(
	url: string,
	input: SeedInput,
	{ isTTY = false } = {},
): Promise<SeedRun> {
	const lines: string[] = [];
	const drawn: string[] = [];
	await run(
		{ database: loadDatabaseConfig({ DATABASE_URL: url }), input },
		{
			print: (line) => void lines.push(line),
			progress: { isTTY, write: (chunk: string) => void drawn.push(chunk) },
		},
	);
	return { lines, drawn };
}

/** Every row of `users`, by id, as text: compared before and after a rejected import. */
async function snapshot(url: string): Promise<string> {
	return JSON.stringify(await pg.query(url, "select * from users order by id"));
}

async function countOf(url: string, sql: string): Promise<number> {
	const [row] = await pg.query(url, sql);
	return Number(row?.count);
}

const countUsers = (url: string): Promise<number> =>
	countOf(url, "select count(*) as count from users");

/** A temp file holding `content`; returns its path. */
function file(t: Test, name: string, content: string): string {
	return join(t.testdir({ [name]: content }), name);
}

const csvOf = (users: readonly { name: string; email: string }[]): string =>
	`name,email\n${users.map((u) => `${u.name},${u.email}`).join("\n")}\n`;

const manyUsers = (n: number, prefix = "bulk") =>
	Array.from({ length: n }, (_, i) => ({
		name: `Bulk ${i + 1}`,
		email: `${prefix}-${i + 1}@example.org`,
	}));

t.test("sample users: twice gives exactly three rows", async (t) => {
	const url = await migratedDatabase();
	const first = await seed(url, { kind: "sample" });
	t.same(first.lines, ["sample users: 3 inserted, 0 already present"]);
	const second = await seed(url, { kind: "sample" });
	t.same(second.lines, ["sample users: 0 inserted, 3 already present"]);
	t.same(await pg.query(url, "select id, name, email from users order by id"), [
		{ id: 1, name: "John Doe", email: "john@example.com" },
		{ id: 2, name: "Jane Smith", email: "jane@example.com" },
		{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
	]);
	t.same(first.drawn, [], "no progress for the sample users");
});

t.test("--count adds synthetic users, and runs never collide", async (t) => {
	const url = await migratedDatabase();
	await seed(url, { kind: "sample" });
	const first = await seed(url, { kind: "count", count: 25_000 });
	t.match(first.lines, [/^inserted 25000 synthetic users in \d+\.\d s$/]);
	t.equal(first.lines.length, 1);
	t.equal(await countUsers(url), 25_003);
	t.same(first.drawn, [], "no progress when the stream is not a TTY");

	const second = await seed(url, { kind: "count", count: 25_000 });
	t.match(second.lines, [/^inserted 25000 synthetic users in /]);
	t.equal(await countUsers(url), 50_003, "the second run adds 25000 more");
	t.equal(
		await countOf(url, "select count(distinct email) as count from users"),
		50_003,
		"every email is unique",
	);
	t.equal(
		await countOf(
			url,
			`select count(*) as count from users where email in (${SAMPLE_EMAILS.map((e) => `'${e}'`).join(",")})`,
		),
		3,
		"the sample users are still there",
	);
});

t.test("--count draws progress on a TTY", async (t) => {
	const url = await migratedDatabase();
	const { lines, drawn } = await seed(
		url,
		{ kind: "count", count: 25_000 },
		{ isTTY: true },
	);
	t.match(lines, [/^inserted 25000 synthetic users/]);
	t.ok(drawn.length >= 2, "at least one update and the final clear");
	t.ok(
		drawn.every((chunk) => chunk.startsWith("\r")),
		"every write redraws the line",
	);
	t.ok(
		drawn.some((chunk) => chunk.includes("users inserted: 100% 25000/25000")),
		"the last update shows the total",
	);
	t.equal(drawn.at(-1), "\r\x1b[K", "the line is cleared at the end");
	t.equal(await countUsers(url), 25_000);
});

t.test("--file imports every row of a CSV or NDJSON file", async (t) => {
	const url = await migratedDatabase();
	const csv = file(
		t,
		"users.csv",
		'email,name\r\nada@example.org,Ada Lovelace\r\n\r\nalan@example.org,"Turing, Alan"\r\n',
	);
	const fromCsv = await seed(url, { kind: "file", path: csv, format: "csv" });
	t.match(fromCsv.lines, [
		new RegExp(`^imported 2 users from ${csv.replace(/[.]/g, "\\.")} in `),
	]);
	t.same(fromCsv.drawn, []);

	const ndjson = file(
		t,
		"users.ndjson",
		'{"name":"Grace Hopper","email":"grace@example.org"}\n\n{"email":"edsger@example.org","name":"Edsger Dijkstra","role":"x"}\n',
	);
	const fromNdjson = await seed(url, {
		kind: "file",
		path: ndjson,
		format: "ndjson",
	});
	t.match(fromNdjson.lines, [/^imported 2 users from .*users\.ndjson in /]);

	t.same(await pg.query(url, "select name, email from users order by id"), [
		{ name: "Ada Lovelace", email: "ada@example.org" },
		{ name: "Turing, Alan", email: "alan@example.org" },
		{ name: "Grace Hopper", email: "grace@example.org" },
		{ name: "Edsger Dijkstra", email: "edsger@example.org" },
	]);
});

t.test(
	"--file with bad rows: every bad line reported, nothing imported",
	async (t) => {
		const url = await migratedDatabase();
		await seed(url, { kind: "sample" });
		const before = await snapshot(url);
		const csv = file(
			t,
			"bad.csv",
			[
				"name,email",
				"Ada,ada@example.org", // 2: fine
				",nobody@example.org", // 3: missing name
				"Alan,alan@example.org", // 4: fine
				`${"n".repeat(101)},long@example.org`, // 5: name too long
				"Ada Again,ada@example.org", // 6: duplicate of line 2
				"Johnny,john@example.com", // 7: already in the table
				"Broken,broken@example.org,extra", // 8: wrong number of fields
				"Bad Email,not-an-email", // 9: bad email
				"Grace,grace@example.org", // 10: fine
			].join("\n"),
		);
		const error = await seed(url, {
			kind: "file",
			path: csv,
			format: "csv",
		}).then(
			() => undefined,
			(error: unknown) => error,
		);
		t.type(error, CommandError);
		const message = (error as Error).message;
		t.match(
			message,
			`${csv}: 6 bad row(s) of 9; nothing was imported`,
			"the summary counts bad and read rows",
		);
		const reported = [...message.matchAll(/^ {2}line (\d+): (.*)$/gm)].map(
			(m) => [Number(m[1]), m[2]],
		);
		t.same(
			reported.map(([line]) => line),
			[3, 5, 6, 7, 8, 9],
			"each bad line, in order, and only those",
		);
		t.match(Object.fromEntries(reported), {
			3: "missing name",
			5: "name is longer than 100 characters",
			6: "duplicate email ada@example.org (first on line 2)",
			7: "email john@example.com already exists in the database",
			8: /^malformed CSV: /,
			9: 'email "not-an-email" is not an email address',
		});
		t.equal(await snapshot(url), before, "the table is untouched");

		const ndjson = file(
			t,
			"bad.ndjson",
			[
				'{"name":"Ada","email":"ada@example.org"}',
				'{"name":"Alan"}',
				"{oops",
				"[]",
				'{"name":"Grace","email":"grace@example.org"}',
			].join("\n"),
		);
		await t.rejects(
			seed(url, { kind: "file", path: ndjson, format: "ndjson" }),
			{
				name: "CommandError",
				message:
					/3 bad row\(s\) of 5; nothing was imported\n {2}line 2: missing email\n {2}line 3: not valid JSON\n {2}line 4: expected a JSON object/,
			},
		);
		t.equal(await snapshot(url), before, "the table is still untouched");
	},
);

t.test(
	"--file: a NUL character is a bad row with its line, not a failed import",
	async (t) => {
		const url = await migratedDatabase();
		const ndjson = file(
			t,
			"nul.ndjson",
			[
				'{"name":"Ada","email":"ada@example.org"}',
				'{"name":"bad\\u0000nul","email":"nul@example.org"}',
				'{"name":"Alan","email":"alan\\u0000@example.org"}',
			].join("\n"),
		);
		await t.rejects(
			seed(url, { kind: "file", path: ndjson, format: "ndjson" }),
			{
				name: "CommandError",
				message:
					/2 bad row\(s\) of 3; nothing was imported\n {2}line 2: name contains a NUL character\n {2}line 3: email contains a NUL character$/,
			},
		);
		const csv = file(
			t,
			"nul.csv",
			"name,email\nAda,ada@example.org\nbad\u0000nul,nul@example.org\n",
		);
		await t.rejects(seed(url, { kind: "file", path: csv, format: "csv" }), {
			name: "CommandError",
			message:
				/1 bad row\(s\) of 2; nothing was imported\n {2}line 3: name contains a NUL character$/,
		});
		t.equal(await countUsers(url), 0);
	},
);

t.test(
	"--file: a bad row after several batches rolls back the batches already written",
	async (t) => {
		const url = await migratedDatabase();
		await seed(url, { kind: "sample" });
		const before = await snapshot(url);
		const users = manyUsers(2500);
		users.push({ name: "Clash", email: "bob@example.com" });
		const path = file(t, "big.csv", csvOf(users));
		await t.rejects(seed(url, { kind: "file", path, format: "csv" }), {
			name: "CommandError",
			message:
				/1 bad row\(s\) of 2501; nothing was imported\n {2}line 2502: email bob@example\.com already exists in the database$/,
		});
		t.equal(await snapshot(url), before, "the table is untouched");
	},
);

t.test("--file: many bad rows are summarised after the first 20", async (t) => {
	const url = await migratedDatabase();
	const lines = Array.from({ length: 30 }, (_, i) => `Bad ${i},nope-${i}`);
	const path = file(t, "bad.csv", `name,email\n${lines.join("\n")}\n`);
	const error = await seed(url, { kind: "file", path, format: "csv" }).then(
		() => undefined,
		(error: unknown) => error,
	);
	t.type(error, CommandError);
	const message = (error as Error).message;
	t.match(message, /30 bad row\(s\) of 30/);
	t.equal(message.match(/^ {2}line \d+: /gm)?.length, 20);
	t.match(message, /\n {2}line 21: .*\n {2}… and 10 more$/);
	t.equal(await countUsers(url), 0);
});

t.test("--file: the 20 reported are the first 20 by line", async (t) => {
	const url = await migratedDatabase();
	await seed(url, { kind: "sample" });
	// A clash with the table is only found when its batch is written, after
	// the rows below it have been checked.
	const lines = [
		"John,john@example.com",
		...Array.from({ length: 30 }, (_, i) => `Bad ${i},nope-${i}`),
	];
	const path = file(t, "bad.csv", `name,email\n${lines.join("\n")}\n`);
	const error = await seed(url, { kind: "file", path, format: "csv" }).then(
		() => undefined,
		(error: unknown) => error,
	);
	t.type(error, CommandError);
	const message = (error as Error).message;
	t.match(message, /31 bad row\(s\) of 31/);
	t.same(
		[...message.matchAll(/^ {2}line (\d+): /gm)].map((m) => Number(m[1])),
		Array.from({ length: 20 }, (_, i) => i + 2),
		"lines 2 to 21",
	);
	t.match(message, /\n {2}line 2: email john@example\.com already exists/);
	t.match(message, /\n {2}… and 11 more$/);
});

t.test("--file: 3000 rows, more than one batch, all imported", async (t) => {
	const url = await migratedDatabase();
	await seed(url, { kind: "sample" });
	const users = manyUsers(3000);
	const path = file(t, "many.csv", csvOf(users));
	const { lines, drawn } = await seed(
		url,
		{ kind: "file", path, format: "csv" },
		{ isTTY: true },
	);
	t.match(lines, [/^imported 3000 users from .*many\.csv in /]);
	t.equal(await countUsers(url), 3003);
	t.same(
		await pg.query(
			url,
			"select name, email from users where id > 3 order by id",
		),
		users,
		"every row, in file order",
	);
	t.ok(
		drawn.some((chunk) => {
			const prefix = "\r\x1b[Krows read: ";
			return (
				chunk.startsWith(prefix) &&
				// The rate follows once the import has run long enough to have one.
				/^\d+(, [\d,]+\/s)?$/.test(chunk.slice(prefix.length))
			);
		}),
		"progress counts rows read",
	);
	t.equal(drawn.at(-1), "\r\x1b[K", "the progress line is cleared");
});

t.test("seeding before migrate says to run sherpany migrate", async (t) => {
	const url = await pg.createDatabase();
	for (const source of [
		{ kind: "sample" },
		{ kind: "count", count: 10 },
	] as const) {
		await t.rejects(
			seed(url, source),
			{ name: "CommandError", message: /run sherpany migrate/ },
			source.kind,
		);
	}
	const path = file(t, "u.csv", "name,email\nAda,ada@example.org\n");
	await t.rejects(seed(url, { kind: "file", path, format: "csv" }), {
		name: "CommandError",
		message: /pending: 0001_create_users.*run sherpany migrate/,
	});
	t.same(
		await pg.query(url, "select to_regclass('users') as users"),
		[{ users: null }],
		"seed did not create the table",
	);
});

/** Runs the real `bin/sherpany seed …`, from source, on `url` and nothing else configured. */
function cli(
	url: string,
	args: readonly string[],
	cwd: string,
	extraEnv: Record<string, string> = {},
): Promise<CliResult> {
	return runCli(["seed", ...args], { DATABASE_URL: url, ...extraEnv }, cwd);
}

function noStackTrace(t: Test, result: CliResult, what: string): void {
	t.notOk(hasStackTrace(result.stderr), `${what}: no stack trace`);
}

t.test("the CLI: exit codes and messages", async (t) => {
	const url = await migratedDatabase();
	const dir = t.testdir({
		"good.csv": "name,email\nAda,ada@example.org\n",
		"bad.csv":
			"name,email\nAda,ada@example.org\nNo Email,\nAda,ada@example.org\n",
		"users.txt": "name,email\nAda,ada@example.org\n",
		"dir.csv": {},
		"noheader.csv": "Ada,ada@example.org\n",
	});

	let result = await cli(url, [], dir);
	t.equal(result.code, 0, "sample seeding exits 0");
	t.equal(result.stdout, "sample users: 3 inserted, 0 already present\n");
	t.equal(result.stderr, "");
	result = await cli(url, [], dir);
	t.equal(result.code, 0, "and again");
	t.equal(result.stdout, "sample users: 0 inserted, 3 already present\n");
	t.equal(await countUsers(url), 3);

	const before = await snapshot(url);
	result = await cli(url, ["--file", "bad.csv"], dir);
	t.equal(result.code, 1, "a bad file exits 1");
	t.match(
		result.stderr,
		/^sherpany: bad\.csv: 2 bad row\(s\) of 3; nothing was imported\n/,
	);
	t.match(result.stderr, /\n {2}line 3: missing email\n/);
	t.match(
		result.stderr,
		/\n {2}line 4: duplicate email ada@example\.org \(first on line 2\)\n/,
	);
	t.equal(result.stdout, "");
	noStackTrace(t, result, "bad file");
	t.equal(await snapshot(url), before, "nothing was committed");

	for (const args of [
		["--count", "0"],
		["--count", "abc"],
		["--count", "5", "--file", "good.csv"],
		["--file", "missing.csv"],
		["--file", "users.txt"],
		["--file", "dir.csv"],
	]) {
		const what = args.join(" ");
		result = await cli(url, args, dir);
		t.equal(result.code, 2, `${what} exits 2`);
		t.match(
			result.stderr,
			/^sherpany: .*(--count|--file)/,
			`${what}: says which flag`,
		);
		noStackTrace(t, result, what);
	}
	t.equal(await snapshot(url), before, "none of them changed the table");

	result = await cli(url, ["--file", "dir.csv"], dir);
	t.equal(
		result.stderr,
		"sherpany: --file: dir.csv is not a file\n",
		"a directory is not read",
	);

	// The messages name SEED_FILE when the file came from it.
	for (const [seedFile, message] of [
		["missing.csv", "SEED_FILE: cannot read missing.csv (ENOENT)"],
		["users.txt", "SEED_FILE: users.txt must end in .csv, .ndjson or .jsonl"],
		["dir.csv", "SEED_FILE: dir.csv is not a file"],
		["noheader.csv", "SEED_FILE: the CSV header must name the columns"],
	] as const) {
		result = await cli(url, [], dir, { SEED_FILE: seedFile });
		t.equal(result.code, 2, `SEED_FILE=${seedFile} exits 2`);
		t.match(result.stderr, `sherpany: ${message}`, `SEED_FILE=${seedFile}`);
		t.notMatch(result.stderr, /--file/, `SEED_FILE=${seedFile}: not --file`);
	}

	result = await cli(url, ["--file", "good.csv"], dir);
	t.equal(result.code, 0, "a good file exits 0");
	t.match(result.stdout, /^imported 1 users from good\.csv in \d+\.\d s\n$/);
	t.equal(await countUsers(url), 4);
});

t.test(
	"the CLI: seeding before migrate exits 1 and says what to do",
	async (t) => {
		const url = await pg.createDatabase();
		const result = await cli(url, [], t.testdir({}));
		t.equal(result.code, 1);
		t.match(result.stderr, /^sherpany: .*run sherpany migrate first\n$/);
		noStackTrace(t, result, "before migrate");
	},
);
