/**
 * The Migrator sherpany uses answers as Kysely's own does, with its cheap
 * check of the migration table: before any migration, after some, after
 * all, and when the table records a migration this program does not know.
 */
import { type Kysely, sql } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import {
	createMigrator,
	findPendingMigrations,
} from "../../src/db/migrator.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

/** Two migrations that each create one table. */
const createTable = (name: string): Migration => ({
	up: async (db: Kysely<unknown>) => {
		await db.schema.createTable(name).addColumn("id", "integer").execute();
	},
});
const first = { "0001_a": createTable("a") };
const both = { ...first, "0002_b": createTable("b") };

/** Kysely's Migrator over the same migrations: the reference. */
const kyselys = (db: Kysely<unknown>, migrations: Record<string, Migration>) =>
	new Migrator({ db, provider: { getMigrations: async () => migrations } });

t.test("same answers as Kysely's Migrator", async (t) => {
	const handle = await openDatabase(
		loadDatabaseConfig({ DATABASE_URL: await pg.createDatabase() }),
	);
	t.teardown(handle.close);
	const db = handle.db as unknown as Kysely<unknown>;
	const compare = async (label: string) =>
		t.same(
			await createMigrator(db, both).getMigrations(),
			await kyselys(db, both).getMigrations(),
			label,
		);

	await compare("no migration table yet");
	t.same(await findPendingMigrations(createMigrator(db, both)), [
		"0001_a",
		"0002_b",
	]);

	const applyFirst = await createMigrator(db, first).migrateToLatest();
	t.same(
		applyFirst.results?.map((result) => result.migrationName),
		["0001_a"],
	);
	await compare("one of two applied");

	const applySecond = await createMigrator(db, both).migrateToLatest();
	t.same(
		applySecond.results?.map((result) => result.migrationName),
		["0002_b"],
	);
	await compare("both applied");
	t.same(await findPendingMigrations(createMigrator(db, both)), []);

	const noop = await createMigrator(db, both).migrateToLatest();
	t.same(noop, { results: [] }, "up to date: nothing applied, no error");

	// An older program (it knows only the first) gets Kysely's error.
	const older = await createMigrator(db, first).migrateToLatest();
	t.match(
		String(older.error),
		/0002_b/,
		"a recorded unknown migration is an error",
	);
	t.same(older, await kyselys(db, first).migrateToLatest());

	const { rows } = await sql<{ count: string }>`
		select count(*)::text as count from kysely_migration
	`.execute(db);
	t.equal(rows[0]?.count, "2", "each migration recorded once");
});
