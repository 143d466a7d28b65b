/**
 * The page query runs as a named (prepared) statement on PostgreSQL, once
 * per connection, and the naming leaves every other query as it was.
 */
import { sql } from "kysely";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { createMigrator } from "../../src/db/migrator.ts";
import {
	MAX_NAMED_STATEMENTS,
	statementName,
} from "../../src/db/named-statements.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import { insertSampleUsers, listUsers } from "../../src/db/users.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

t.test("pages run as one prepared statement per connection", async (t) => {
	const config = loadDatabaseConfig({
		DATABASE_URL: await pg.createDatabase(),
		PG_POOL_MAX: "1",
	});
	if (config.kind !== "postgres") throw new Error("expected PostgreSQL");
	const { db, close } = openPostgres(config);
	t.teardown(close);
	const { error } = await createMigrator(db).migrateToLatest();
	if (error) throw error;
	await insertSampleUsers(db);
	const first = await listUsers(db, 2, 0);
	const second = await listUsers(db, 2, first.users[1]?.id ?? 0);
	t.same(
		[...first.users, ...second.users].map((user) => user.email),
		["john@example.com", "jane@example.com", "bob@example.com"],
	);
	t.equal(second.hasMore, false);
	// One pooled connection: this runs in the session that prepared the page query.
	const prepared = await sql<{ name: string }>`
		select name from pg_prepared_statements
		where statement like 'select "id", "name", "email" from "users"%'`.execute(
		db,
	);
	t.equal(prepared.rows.length, 1, "one statement prepared, for both pages");
	t.match(prepared.rows[0]?.name, /^sherpany_\d+$/);
});

t.test("only parameterized selects are named, always alike", async (t) => {
	t.equal(statementName("select 1", []), undefined, "no parameters");
	t.equal(
		statementName("insert into t values ($1)", [1]),
		undefined,
		"a write",
	);
	const name = statementName("select $1::int as n", [1]);
	t.match(name, /^sherpany_\d+$/);
	t.equal(
		statementName("select $1::int as n", [2]),
		name,
		"same text, same name",
	);
});

t.test("past the cap, new texts run unnamed", async (t) => {
	for (let i = 0; i < MAX_NAMED_STATEMENTS + 1; i++)
		statementName(`select $1::int + ${i} as n`, [1]);
	t.equal(statementName("select $1::text as fresh", ["x"]), undefined);
});
