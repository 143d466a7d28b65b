import { readFile } from "node:fs/promises";
import { sql } from "kysely";
import { Client } from "pg";
import t from "tap";
import { migrations } from "../../migrations/index.ts";
import { run } from "../../src/commands/migrate.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { hasStackTrace, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

async function migrate(
	url: string,
	action: "latest" | "status",
): Promise<string[]> {
	const lines: string[] = [];
	await run(
		{ database: loadDatabaseConfig({ DATABASE_URL: url }), action },
		{ print: (line) => lines.push(line) },
	);
	return lines;
}

t.test("migrate applies once; running it twice is a no-op", async (t) => {
	const url = await pg.createDatabase();
	t.same(await migrate(url, "status"), [
		"0001_create_users  pending",
		"0 applied, 1 pending",
	]);
	t.same(await migrate(url, "latest"), [
		"applied 0001_create_users",
		"applied 1 migration(s); the database is up to date",
	]);
	t.same(await migrate(url, "latest"), ["the database is up to date"]);
	const status = await migrate(url, "status");
	t.match(status[0], /^0001_create_users {2}applied \d{4}-\d\d-\d\dT/);
	t.equal(status[1], "1 applied, 0 pending");
	const columns = await pg.query(
		url,
		"select column_name, data_type, character_maximum_length, is_nullable from information_schema.columns where table_name = 'users' order by ordinal_position",
	);
	t.same(columns, [
		{
			column_name: "id",
			data_type: "integer",
			character_maximum_length: null,
			is_nullable: "NO",
		},
		{
			column_name: "name",
			data_type: "character varying",
			character_maximum_length: 100,
			is_nullable: "NO",
		},
		{
			column_name: "email",
			data_type: "character varying",
			character_maximum_length: 100,
			is_nullable: "NO",
		},
	]);
	await t.rejects(
		pg.query(
			url,
			"insert into users (name, email) values ('a', 'x@y'), ('b', 'x@y')",
		),
		/duplicate key/,
		"email is unique",
	);
});

t.test(
	"a database made by the original init.sql is adopted with its rows",
	async (t) => {
		const url = await pg.createDatabase();
		const initSql = await readFile(
			new URL("../fixtures/init.sql", import.meta.url),
			"utf8",
		);
		await pg.query(url, initSql);
		const before = await pg.query(url, "select * from users order by id");
		t.equal(before.length, 3);

		t.same(await migrate(url, "latest"), [
			"applied 0001_create_users",
			"applied 1 migration(s); the database is up to date",
		]);
		t.same(
			await pg.query(url, "select * from users order by id"),
			before,
			"every row kept",
		);
		const [inserted] = await pg.query(
			url,
			"insert into users (name, email) values ('New', 'new@example.com') returning id",
		);
		t.equal(inserted?.id, 4, "the serial sequence carries on");
	},
);

/**
 * The session-level advisory lock Kysely's Migrator takes on PostgreSQL
 * (kysely/dist/dialect/postgres/postgres-adapter.js, LOCK_ID). Holding it
 * makes every migrate wait at the same point; if Kysely changes it, no
 * migrate waits and the test below says so.
 */
const KYSELY_MIGRATION_LOCK = "3853314791062309107";

t.test(
	"migrates racing on one empty database all succeed, each migration applied once",
	async (t) => {
		const url = await pg.createDatabase();
		// Hold the migration lock, so that all four are started and waiting
		// for it at once, whatever their start-up times, before any applies.
		const holder = new Client({ connectionString: url });
		await holder.connect();
		t.teardown(() => holder.end());
		await holder.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
		const racing = Promise.all(
			Array.from({ length: 4 }, () =>
				runCli(["migrate"], { DATABASE_URL: url }),
			),
		);
		const waitingSql = `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and ((classid::bigint << 32) | objid::bigint) = ${KYSELY_MIGRATION_LOCK} and database = (select oid from pg_database where datname = current_database())`;
		let waiting = 0;
		for (let waited = 0; waited < 60_000 && waiting < 4; waited += 50) {
			waiting = Number((await holder.query(waitingSql)).rows[0]?.n);
			if (waiting < 4) await new Promise((resolve) => setTimeout(resolve, 50));
		}
		t.equal(waiting, 4, "all four wait for the migration lock at once");
		await holder.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);
		const results = await racing;
		t.same(
			results.map((result) => result.code),
			[0, 0, 0, 0],
			results.map((result) => result.stderr).join(""),
		);
		const applied = results.filter((result) =>
			result.stdout.includes("applied 0001_create_users"),
		).length;
		t.equal(applied, 1, "exactly one process applied the migration");
		t.equal(
			results.filter(
				(result) => result.stdout === "the database is up to date\n",
			).length,
			3,
			"the three others found it applied once they had the lock",
		);
		t.same(await pg.query(url, "select name from kysely_migration"), [
			{ name: "0001_create_users" },
		]);
	},
);

t.test(
	"an unreachable database exits 1 with one clear line and no password",
	async (t) => {
		const stopped = await startPostgres(t);
		await stopped.stop();
		const result = await runCli(["migrate"], {
			DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${stopped.port}/app`,
			PG_CONNECT_TIMEOUT_MS: "1000",
		});
		t.equal(result.code, 1);
		t.match(
			result.stderr,
			/^sherpany: cannot reach the database at postgres:\/\/app@127\.0\.0\.1:\d+\/app/,
		);
		t.match(result.stderr, /ECONNREFUSED/);
		t.notMatch(result.stderr + result.stdout, /s3cret-pw/);
		t.notOk(hasStackTrace(result.stderr));
		t.equal(result.stderr.trim().split("\n").length, 1, "one line");
	},
);

t.test(
	"a failing migration exits 1 naming it, and applies nothing",
	async (t) => {
		const url = await pg.createDatabase();
		const lines: string[] = [];
		const failing = run(
			{ database: loadDatabaseConfig({ DATABASE_URL: url }), action: "latest" },
			{
				print: (line) => lines.push(line),
				migrations: {
					...migrations,
					"0002_broken": {
						up: async (db) => {
							await sql`select * from no_such_table`.execute(db);
						},
					},
				},
			},
		);
		await t.rejects(failing, {
			name: "CommandError",
			message:
				/^migration 0002_broken failed: relation "no_such_table" does not exist$/,
		});
		t.ok(lines.includes("failed 0002_broken"));
		const tables = await pg.query(
			url,
			"select count(*)::int as n from information_schema.tables where table_name = 'users'",
		);
		t.equal(tables[0]?.n, 0, "the whole run rolled back, 0001 included");
	},
);

t.test("database options may stand before `status`", async (t) => {
	const url = await pg.createDatabase();
	const cwd = t.testdir();
	const result = await runCli(
		["migrate", "--database-url", url, "status"],
		{},
		cwd,
	);
	t.equal(result.code, 0, result.stderr);
	t.equal(result.stderr, "", "no embedded-database notice");
	t.equal(result.stdout, "0001_create_users  pending\n0 applied, 1 pending\n");
});

t.test("the server's refusal is one line naming the database", async (t) => {
	const result = await runCli(["migrate"], {
		DATABASE_URL: `${pg.adminUrl.replace(/\/postgres$/, "")}/no_such_db`,
	});
	t.equal(result.code, 1);
	t.match(
		result.stderr,
		/^sherpany: the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/no_such_db \(sslmode=disable\) refused: database "no_such_db" does not exist\n$/,
	);
});
