/**
 * The export's NDJSON is built by PostgreSQL (`row_to_json`, in
 * src/db/users.ts): its bytes must be exactly those of `JSON.stringify` on
 * the same rows, which the export sent before. Fuzzed with fast-check over
 * names and emails of control characters, quotes, backslashes, non-ASCII
 * (accents, CJK, emoji, line and paragraph separators), on real PostgreSQL,
 * across batch boundaries.
 */
import fc from "fast-check";
import { sql } from "kysely";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { readFrom } from "../../src/db/read-router.ts";
import { streamUserBatches } from "../../src/db/users.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const cluster = await startPostgres(t);

/** One character of a name: what JSON escapes, what it must not, and the rest of Unicode. */
const character = fc.oneof(
	// Every control character PostgreSQL text can hold (not NUL).
	fc.integer({ min: 0x01, max: 0x1f }).map((code) => String.fromCharCode(code)),
	fc.constantFrom('"', "\\", "/", "'", "\u007f", "\u2028", "\u2029", "\u00a0"),
	fc.constantFrom("é", "ß", "中", "😀", "👩‍👩‍👧", "\ufeff", "\u{10ffff}"),
	fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
);
const text = fc.string({ unit: character, maxLength: 20 });

t.test("row_to_json lines are JSON.stringify's, byte for byte", async (t) => {
	const url = await createMigratedDatabase(cluster);
	const handle = await openDatabase(loadDatabaseConfig({ DATABASE_URL: url }));
	t.teardown(handle.close);
	const read = readFrom(handle.reads);
	await fc.assert(
		fc.asyncProperty(
			fc.array(fc.tuple(text, text), { minLength: 0, maxLength: 7 }),
			fc.integer({ min: 1, max: 4 }),
			async (pairs, batchSize) => {
				await sql`truncate users`.execute(handle.db);
				if (pairs.length > 0)
					await handle.db
						.insertInto("users")
						.values(
							pairs.map(([name, email], i) => ({
								name,
								email: `${i}${email}`,
							})),
						)
						.execute();
				const rows = await handle.db
					.selectFrom("users")
					.select(["id", "name", "email"])
					.orderBy("id")
					.execute();
				const expected = rows.map((row) => `${JSON.stringify(row)}\n`).join("");
				let exported = "";
				for await (const batch of streamUserBatches(read, batchSize))
					exported += batch;
				if (exported !== expected)
					throw new Error(
						`${JSON.stringify(exported)} !== ${JSON.stringify(expected)}`,
					);
			},
		),
		{ numRuns: 150 },
	);
	t.pass("150 tables of random users exported as JSON.stringify writes them");
});
