/**
 * A migration that fails midway, after changing the schema and the data,
 * on a database already in use: the run fails naming it, the database is
 * exactly as it was (schema and rows), and once the broken migration is
 * replaced by a good one, it applies cleanly. The migration set is
 * test-only, passed to the command as the program passes its own.
 */
import { sql } from "kysely";
import type { Migration } from "kysely/migration";
import t from "tap";
import { migrations } from "../../migrations/index.ts";
import { run } from "../../src/commands/migrate.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { exitCodeFor } from "../../src/exit-codes.ts";
import { migrateAndSeed } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

const halfDone: Migration = {
	async up(db) {
		await sql`ALTER TABLE users ADD COLUMN nickname text`.execute(db);
		await sql`UPDATE users SET nickname = name`.execute(db);
		await sql`CREATE TABLE teams (id serial PRIMARY KEY)`.execute(db);
		// Fails: the constraint does not hold for the existing rows.
		await sql`ALTER TABLE users ADD CONSTRAINT short CHECK (length(nickname) < 3)`.execute(
			db,
		);
	},
};
const good: Migration = {
	async up(db) {
		await sql`ALTER TABLE users ADD COLUMN nickname text`.execute(db);
		await sql`CREATE TABLE teams (id serial PRIMARY KEY)`.execute(db);
	},
};

t.test(
	"a migration failing midway changes nothing; the fixed one applies",
	async (t) => {
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		const state = async () => ({
			columns: await pg.query(
				url,
				"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
			),
			users: await pg.query(url, "SELECT * FROM users ORDER BY id"),
			applied: await pg.query(
				url,
				"SELECT name FROM kysely_migration ORDER BY name",
			),
		});
		const before = await state();
		const lines: string[] = [];
		const database = loadDatabaseConfig({ DATABASE_URL: url });
		const failing = run(
			{ database, action: "latest" },
			{
				print: (line) => lines.push(line),
				migrations: { ...migrations, "0002_half_done": halfDone },
			},
		);
		const error = await failing.then(
			() => undefined,
			(caught: unknown) => caught,
		);
		t.match(error, {
			name: "CommandError",
			message: /^migration 0002_half_done failed: .*"short"/,
		});
		t.equal(exitCodeFor(error), 1, "exits 1");
		t.same(
			await state(),
			before,
			"schema, rows and migration table as they were",
		);

		await run(
			{ database, action: "latest" },
			{
				print: (line) => lines.push(line),
				migrations: { ...migrations, "0002_half_done": good },
			},
		);
		t.ok(
			lines.includes("applied 0002_half_done"),
			"the fixed migration applies",
		);
		const after = await state();
		t.same(
			after.applied.map((row) => row.name),
			["0001_create_users", "0002_half_done"],
		);
		t.equal(after.users.length, before.users.length, "no row lost");
	},
);
