/**
 * Fuzzing `seed --file` (fast-check) through the CLI's own entry point:
 * CSV and NDJSON files mixing good rows with random bytes, quotes, BOMs,
 * CRLF, huge lines and SQL injection strings. Each run either imports (exit
 * 0, and every new row is one of the file's) or fails with exit 1 and an
 * error naming a line, never a stack trace, and then the table is exactly as
 * it was: never a partial import.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import t from "tap";
import { main } from "../../src/main.ts";
import { hasStackTrace, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);
let unique = 0;

const goodRow = fc.nat(1_000_000).map((n) => {
	unique += 1;
	return { name: `Person ${n}`, email: `p${unique}-${n}@example.com` };
});
const nasty = fc.oneof(
	fc.string({ maxLength: 60 }),
	fc.string({ unit: "binary", maxLength: 60 }),
	fc.constantFrom(
		"\uFEFF",
		'"',
		'""',
		'"unterminated',
		"a,b,c,d",
		"\r",
		"'); DROP TABLE users; --",
		"Robert'); DELETE FROM users; --,bobby@example.com",
		"{}",
		"[1,2]",
		'{"name":null,"email":"x@example.com"}',
		'{"name":"x","email":"not-an-email"}',
		"x".repeat(100_000),
		"\u0000",
	),
);
const line = fc.oneof(
	{ weight: 3, arbitrary: goodRow },
	{ weight: 1, arbitrary: nasty },
);
const file = fc.record({
	format: fc.constantFrom("csv", "ndjson"),
	bom: fc.boolean(),
	eol: fc.constantFrom("\n", "\r\n"),
	lines: fc.array(line, { maxLength: 12 }),
});

/** Runs `sherpany seed --file` in-process; exit code and output. */
async function seedFile(path: string, url: string) {
	let output = "";
	const capture = () => {
		const stream = new PassThrough();
		stream.on("data", (chunk) => {
			output += chunk;
		});
		return stream;
	};
	const code = await main(
		["seed", "--file", path],
		{ DATABASE_URL: url },
		{
			stdout: capture(),
			stderr: capture(),
		},
	);
	return { code, output };
}

t.test(
	"seed --file on random files: a full import or a line-numbered error",
	async (t) => {
		const url = await pg.createDatabase();
		t.equal(
			(await runCli(["migrate"], { DATABASE_URL: url })).code,
			0,
			"migrated",
		);
		const dir = t.testdir({});
		const snapshot = async () =>
			(await pg.query(url, "SELECT email FROM users ORDER BY email")).map(
				(row) => String(row.email),
			);
		const outcomes = { imported: 0, refused: 0 };
		await fc.assert(
			fc.asyncProperty(file, async ({ format, bom, eol, lines }) => {
				const text = lines
					.map((entry) =>
						typeof entry === "string"
							? entry
							: format === "csv"
								? `${entry.name},${entry.email}`
								: JSON.stringify(entry),
					)
					.join(eol);
				const content = `${bom ? "\uFEFF" : ""}${format === "csv" ? `name,email${eol}` : ""}${text}${eol}`;
				const path = join(dir, `users.${format}`);
				await writeFile(path, content);
				const before = await snapshot();
				const { code, output } = await seedFile(path, url);
				const after = await snapshot();
				if (hasStackTrace(output)) throw new Error(`a stack trace: ${output}`);
				if (code === 0) {
					outcomes.imported += 1;
					const added = after.filter((email) => !before.includes(email));
					if (added.length !== after.length - before.length)
						throw new Error("rows vanished");
					for (const email of added)
						if (!content.includes(email))
							throw new Error(`imported ${email}, which is not in the file`);
					return;
				}
				outcomes.refused += 1;
				if (code !== 1) throw new Error(`exit ${code}: ${output}`);
				if (!/line \d+/.test(output))
					throw new Error(`no line number: ${output}`);
				if (after.join() !== before.join())
					throw new Error(`a partial import after: ${output}`);
			}),
			{
				numRuns: 80,
				seed: Number(process.env.SHERPANY_FUZZ_SEED ?? Date.now() % 2 ** 31),
			},
		);
		t.ok(
			outcomes.imported > 0 && outcomes.refused > 0,
			`both outcomes seen: ${JSON.stringify(outcomes)}`,
		);
		const tables = await pg.query(
			url,
			"SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'users'",
		);
		t.equal(tables[0]?.n, 1, "the users table survived the injection strings");
	},
);
