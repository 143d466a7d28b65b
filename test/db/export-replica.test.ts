/**
 * The export's batches (streamUserBatches, as `GET /users` with
 * `Accept: application/x-ndjson` reads them) through the read router, on a
 * real primary and a real hot standby: a replay conflict on the standby is
 * read again on the primary, and a standby lost between two batches leaves
 * the rest of the export to the primary, from where it stopped.
 *
 * The replay conflict is PostgreSQL's own. The standby cancels at once a
 * query that holds up replay (`max_standby_streaming_delay=0`); the
 * export's query on the standby is kept running by a row-level security
 * policy that sleeps while a flag (a replicated table) is on, for the role
 * the standby's pool uses; and the primary then takes an ACCESS EXCLUSIVE
 * lock on `users`, which the standby must replay and the running query
 * blocks. The standby cancels it with SQLSTATE 40001, "canceling statement
 * due to conflict with recovery".
 */
import { pino } from "pino";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { type DatabaseHandle, openDatabase } from "../../src/db/connect.ts";
import type { DatabaseRole } from "../../src/db/handle.ts";
import { ReadRouter } from "../../src/db/read-router.ts";
import type { User } from "../../src/db/schema.ts";
import { insertSyntheticUsers, streamUserBatches } from "../../src/db/users.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startStandby } from "../helpers/postgres-standby.ts";
import { waitFor } from "../helpers/wait-for.ts";

const USERS = 250;
const BATCH = 100;
/** The role the standby's pool connects as; the policy holds its reads. */
const READER = "export_reader";

const primary = await startPostgres(t, { tools: ["pg_basebackup"] });
const standby = await startStandby(t, primary, {
	settings: ["max_standby_streaming_delay=0"],
});
const url = await createMigratedDatabase(primary, (db) =>
	insertSyntheticUsers(db, "replica-export", 1, USERS),
);
await primary.query(
	url,
	`create role ${READER} login;
   grant select on users to ${READER};
   create table hold_reads (held boolean not null);
   insert into hold_reads values (false);
   grant select on hold_reads to ${READER};
   create function hold_read() returns boolean language plpgsql as $$
   begin
     if (select held from hold_reads) then perform pg_sleep(120); end if;
     return true;
   end $$;
   alter table users enable row level security;
   create policy held on users for select to ${READER} using ((select hold_read()));`,
);
await standby.waitForReplay();

const standbyUrl = standby.urlFor(url);
const readerUrl = (() => {
	const parsed = new URL(standbyUrl);
	parsed.username = READER;
	return parsed.href;
})();

function open(databaseUrl: string): Promise<DatabaseHandle> {
	return openDatabase(
		loadDatabaseConfig({
			DATABASE_URL: databaseUrl,
			PG_CONNECT_TIMEOUT_MS: "2000",
		}),
		{ onPoolError: () => {} },
	);
}

const primaryDb = await open(url);
const replicaDb = await open(readerUrl);
const checkDb = await open(standbyUrl);
t.teardown(async () => {
	await Promise.all([primaryDb.close(), replicaDb.close(), checkDb.close()]);
});

/** Where each successful read ran, in order. */
const targets: DatabaseRole[] = [];
const router = new ReadRouter({
	primary: primaryDb.readDb,
	replica: replicaDb.readDb,
	replicaCheck: checkDb.db,
	// Nothing here is about lag, and the checks run only when asked.
	maxLagMs: 600_000,
	checkIntervalMs: 600_000,
	checkTimeoutMs: 5000,
	logger: pino({ level: "silent" }),
	onRead: (target) => targets.push(target),
});

/** The standby's states, on a loaded machine, can take their time. */
const STANDBY_WAIT_MS = 90_000;

async function onStandby(sql: string): Promise<Record<string, unknown>[]> {
	return standby.query(standbyUrl, sql);
}

/** The ids of every user, in order: what a whole export must hold. */
const ALL_IDS = Array.from({ length: USERS }, (_, i) => i + 1);

const ids = (batches: readonly User[][]): number[] =>
	batches.flat().map((user) => user.id);

t.test(
	"a replay conflict on the standby is read again on the primary",
	async (t) => {
		await router.check();
		t.equal(router.status().state, "ok", "reads go to the standby");
		await primary.query(url, "update hold_reads set held = true");
		await standby.waitForReplay();

		const batches = streamUserBatches(router.runRead, BATCH);
		const first = batches.next();
		await waitFor(
			"the export's query held on the standby",
			async () => {
				const rows = await onStandby(
					`select 1 from pg_stat_activity
         where usename = '${READER}' and state = 'active' and wait_event = 'PgSleep'`,
				);
				return rows.length === 1;
			},
			STANDBY_WAIT_MS,
		);
		// The lock is WAL-logged; replaying it needs the lock the held query has.
		await primary.query(
			url,
			"begin; lock table users in access exclusive mode; update hold_reads set held = false; commit",
		);
		const batch = await first;
		t.same(
			ids([batch.value ?? []]),
			ALL_IDS.slice(0, BATCH),
			"the first batch arrives",
		);
		t.same(targets, ["primary"], "read by the primary");
		// The cancelled backend reports the conflict when it next flushes its
		// statistics, not at once.
		const lockConflicts = async () => {
			const [row] = await onStandby(
				`select confl_lock::int as n from pg_stat_database_conflicts
         where datname = current_database()`,
			);
			return row?.n;
		};
		await waitFor(
			"a lock conflict counted on the standby",
			async () => Number(await lockConflicts()) > 0,
			STANDBY_WAIT_MS,
		);
		t.equal(
			await lockConflicts(),
			1,
			"after the standby cancelled it: one lock conflict",
		);
		t.equal(router.status().state, "ok", "the standby is still in use");

		await standby.waitForReplay();
		const rest: User[][] = [];
		for await (const next of batches) rest.push(next);
		t.same(
			ids([batch.value ?? [], ...rest]),
			ALL_IDS,
			"every user once, in order",
		);
		t.same(
			targets,
			["primary", "replica", "replica"],
			"the other batches on the standby",
		);
	},
);

t.test(
	"a standby lost mid-export: the primary reads the rest, from where it stopped",
	async (t) => {
		targets.length = 0;
		await router.check();
		t.equal(router.status().state, "ok", "reads go to the standby");
		const batches = streamUserBatches(router.runRead, BATCH);
		const first = await batches.next();
		t.same(targets, ["replica"], "the first batch came from the standby");

		await standby.stop();
		const rest: User[][] = [];
		for await (const next of batches) rest.push(next);
		t.same(
			ids([first.value ?? [], ...rest]),
			ALL_IDS,
			"every user once, in order",
		);
		t.same(
			targets,
			["replica", "primary", "primary"],
			"the rest from the primary",
		);
		t.equal(router.status().state, "unreachable");
	},
);
