/**
 * The reads instance on PostgreSQL (src/db/pool-query-dialect.ts) and the
 * per-client query wrapper (src/db/client-queries.ts): pages are read with
 * pool.query as named statements, timed, and cut off by the query timeout;
 * transactions are refused there and still work on `db`.
 */
import { sql } from "kysely";
import pg from "pg";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { isDatabaseUnavailable } from "../../src/db/classify-error.ts";
import { QUERY_TIMEOUT_MESSAGE } from "../../src/db/client-queries.ts";
import { createMigrator } from "../../src/db/migrator.ts";
import {
	NO_SESSION_MESSAGE,
	PoolReads,
} from "../../src/db/pool-query-dialect.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import { insertSampleUsers, listUsers } from "../../src/db/users.ts";
import { startPostgres } from "../helpers/postgres.ts";

const cluster = await startPostgres(t);

async function openSeeded(poolMax: number, queryTimeoutMs?: number) {
	const url = await cluster.createDatabase();
	const config = loadDatabaseConfig({
		DATABASE_URL: url,
		PG_POOL_MAX: String(poolMax),
	});
	if (config.kind !== "postgres") throw new Error("expected PostgreSQL");
	const queries: string[] = [];
	const handle = openPostgres(config, {
		...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
		onQuery: (seconds, outcome) => {
			if (!(seconds >= 0)) throw new Error(`bad duration ${seconds}`);
			queries.push(outcome);
		},
	});
	const { error } = await createMigrator(handle.db).migrateToLatest();
	if (error) throw error;
	await insertSampleUsers(handle.db);
	return { url, handle, queries };
}

t.test("pages read through pool.query, named, and timed", async (t) => {
	const { handle, queries } = await openSeeded(1);
	t.teardown(handle.close);
	t.ok(
		handle.readDb instanceof PoolReads,
		"pages skip Kysely's executor (PoolReads.readRows)",
	);
	queries.length = 0;
	const first = await listUsers(handle.readDb, 2, 0);
	const second = await listUsers(handle.readDb, 2, first.users[1]?.id ?? 0);
	t.same(
		[...first.users, ...second.users].map((user) => user.email),
		["john@example.com", "jane@example.com", "bob@example.com"],
	);
	t.same(queries, ["success", "success"], "each page reported to onQuery");
	// One pooled connection: it is the session that prepared the page query.
	const prepared = await sql<{ name: string }>`
		select name from pg_prepared_statements
		where statement like 'select "id", "name", "email" from "users"%'`.execute(
		handle.readDb,
	);
	t.equal(prepared.rows.length, 1, "prepared once, for both pages");
	await t.rejects(sql`select * from no_such_table`.execute(handle.readDb), {
		code: "42P01",
	});
	t.equal(queries.at(-1), "error", "a failed query is reported as an error");
});

t.test(
	"a statement a migration made stale fails once, then its connection is replaced",
	async (t) => {
		const { url, handle } = await openSeeded(1);
		t.teardown(handle.close);
		// Prepared on the pool's one connection, through both instances.
		for (const db of [handle.db, handle.readDb])
			t.equal((await listUsers(db, 2, 0)).users.length, 2);
		const admin = new pg.Client({ connectionString: url });
		await admin.connect();
		await admin.query("alter table users alter column name type text");
		await admin.end();
		// The prepared plan's result type changed: PostgreSQL refuses it once.
		await t.rejects(listUsers(handle.db, 2, 0), { code: "0A000" });
		t.equal(
			(await listUsers(handle.db, 2, 0)).users.length,
			2,
			"the next query runs on a new connection",
		);
		t.equal(
			(await listUsers(handle.readDb, 3, 0)).users.length,
			3,
			"reads too",
		);
	},
);

t.test("reads refuse transactions; db still runs them", async (t) => {
	const { handle } = await openSeeded(2);
	t.teardown(handle.close);
	await t.rejects(
		handle.readDb.transaction().execute(async () => {}),
		new Error(NO_SESSION_MESSAGE),
	);
	const inserted = await handle.db.transaction().execute(async (trx) => {
		await trx
			.insertInto("users")
			.values({ name: "In Tx", email: "tx@example.com" })
			.execute();
		return trx.selectFrom("users").select("email").execute();
	});
	t.equal(inserted.length, 4, "the transaction saw its own insert");
	const { numAffectedRows } =
		await sql`delete from users where email = ${"tx@example.com"}`.execute(
			handle.readDb,
		);
	t.equal(numAffectedRows, 1n, "writes report their row count");
});

t.test(
	"a query with no answer in time fails and its connection is dropped",
	async (t) => {
		const { url, handle, queries } = await openSeeded(1, 300);
		t.teardown(handle.close);
		const locker = new pg.Client({ connectionString: url });
		await locker.connect();
		t.teardown(() => locker.end());
		await locker.query("begin; lock table users in access exclusive mode");
		queries.length = 0;
		for (const db of [handle.readDb, handle.db]) {
			const started = Date.now();
			const error = await listUsers(db, 2, 0).then(
				() => undefined,
				(caught: unknown) => caught,
			);
			t.match(error, { message: QUERY_TIMEOUT_MESSAGE });
			t.ok(isDatabaseUnavailable(error), "reported as unavailable (a 503)");
			t.ok(Date.now() - started < 2000, "within the timeout, not the lock");
		}
		t.same(queries, ["error", "error"]);
		await locker.query("rollback");
		// The pool's only client was ended; the next query gets a new one.
		t.equal((await listUsers(handle.readDb, 5, 0)).users.length, 3);
		t.equal((await listUsers(handle.db, 5, 0)).users.length, 3);
	},
);
