/**
 * The page as PostgreSQL writes it (`listUsersJson`, src/db/users.ts) is
 * byte for byte what `JSON.stringify` makes of the same rows read as
 * objects (`listUsers`), with the same last id and next-page answer: fuzzed
 * (fast-check) over non-ASCII, control characters, quotes, backslashes and
 * names and emails of the longest length the schema allows, on a real
 * PostgreSQL through the read instance the app uses.
 */
import fc from "fast-check";
import { sql } from "kysely";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { listUsers, listUsersJson } from "../../src/db/users.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const cluster = await startPostgres(t);
const handle = await openDatabase(
	loadDatabaseConfig({ DATABASE_URL: await createMigratedDatabase(cluster) }),
);
t.teardown(handle.close);

/** `varchar(100)` in the schema: characters (code points), not UTF-16 units. */
const MAX_LENGTH = 100;

/** Characters JSON escapes or that encode in more than one byte or unit. */
const tricky = fc.constantFrom(
	'"',
	"\\",
	"/",
	"\b",
	"\f",
	"\n",
	"\r",
	"\t",
	"\u0001",
	"\u001f",
	"\u007f",
	"\u0080",
	"\u00e9",
	"\u2028",
	"\u2029",
	"\ufeff",
	"\uffff",
	"\u{1f600}",
	"\u{10ffff}",
);
/** Any code point PostgreSQL text can hold: not NUL, not a lone surrogate. */
const anyCodePoint = fc
	.integer({ min: 1, max: 0x10ffff })
	.filter((cp) => cp < 0xd800 || cp > 0xdfff)
	.map((cp) => String.fromCodePoint(cp));
const text = (minLength: number) =>
	fc.string({
		unit: fc.oneof(tricky, anyCodePoint, fc.constantFrom("a", " ", "@")),
		minLength,
		maxLength: MAX_LENGTH,
	});
const longest = (unit: fc.Arbitrary<string>) =>
	fc
		.array(unit, { minLength: MAX_LENGTH, maxLength: MAX_LENGTH })
		.map((units) => units.join(""));
const user = fc.record({
	name: fc.oneof(text(0), longest(fc.oneof(tricky, anyCodePoint))),
	email: fc.oneof(text(1), longest(fc.oneof(tricky, anyCodePoint))),
});
const users = fc.uniqueArray(user, {
	selector: (u) => u.email,
	maxLength: 12,
});

t.test("row_to_json's page is JSON.stringify's, byte for byte", async (t) => {
	const db = handle.readDb;
	let runs = 0;
	await fc.assert(
		fc.asyncProperty(
			users,
			fc.integer({ min: 1, max: 14 }),
			fc.integer({ min: 0, max: 14 }),
			async (rows, limit, skip) => {
				await sql`truncate users restart identity`.execute(handle.db);
				if (rows.length > 0)
					await handle.db.insertInto("users").values(rows).execute();
				const after = Math.min(skip, rows.length);
				const objects = await listUsers(db, limit, after);
				const page = await listUsersJson(db, limit, after);
				if (page.body !== JSON.stringify(objects.users))
					throw new Error(
						`body ${JSON.stringify(page.body)} is not ${JSON.stringify(JSON.stringify(objects.users))}`,
					);
				if (page.hasMore !== objects.hasMore)
					throw new Error(`hasMore ${page.hasMore}, not ${objects.hasMore}`);
				if (page.last !== objects.users.at(-1)?.id)
					throw new Error(`last ${page.last}, not ${objects.users.at(-1)?.id}`);
				runs++;
			},
		),
		{ numRuns: 150 },
	);
	t.equal(runs, 150, "every generated page compared");
});

t.test("the longest names and emails, every tricky character", async (t) => {
	await sql`truncate users restart identity`.execute(handle.db);
	const all = '"\\/\b\f\n\r\t\u0001\u001f\u007f\u00e9\u2028\u{1f600}\u{10ffff}';
	const pad = (s: string) =>
		[...s.repeat(MAX_LENGTH)].slice(0, MAX_LENGTH).join("");
	await handle.db
		.insertInto("users")
		.values([
			{ name: pad(all), email: pad(`x${all}`) },
			{ name: pad("\u{1f600}"), email: pad("é") },
		])
		.execute();
	const page = await listUsersJson(handle.readDb, 1, 0);
	const objects = await listUsers(handle.readDb, 1, 0);
	t.equal(page.body, JSON.stringify(objects.users));
	t.equal([...(objects.users[0]?.name ?? "")].length, MAX_LENGTH);
	t.same([page.last, page.hasMore], [1, true]);
	const rest = await listUsersJson(handle.readDb, 5, 1);
	t.equal(
		rest.body,
		JSON.stringify((await listUsers(handle.readDb, 5, 1)).users),
	);
	t.same([rest.last, rest.hasMore], [2, false]);
	const none = await listUsersJson(handle.readDb, 5, 2);
	t.same(none, { body: "[]", last: undefined, hasMore: false });
});
