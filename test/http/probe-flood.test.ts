/**
 * A flood of `/ready` (from outside on the API port, or from inside the
 * cluster on the admin port, where nothing sheds) must not take the pool
 * from `/users`: concurrent readiness checks share one run, so a flood
 * costs the database one check at a time however many requests wait on it.
 *
 * The first check is held open (its schema step waits on a gate) until the
 * whole flood has reached the route, then released: the flood then costs
 * exactly one check, whatever the machine's load. Unshared, it would cost
 * one per request.
 */
import type { Migrator } from "kysely/migration";
import t from "tap";
import { createMigrator } from "../../src/db/migrator.ts";
import { startApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

const pg = await startPostgres(t, { everyServer: false });
const url = await createMigratedDatabase(pg);

t.test(
	"concurrent /ready requests on the admin port, which never sheds, share one readiness check",
	async (t) => {
		let queries = 0;
		let arrived = 0;
		let schemaChecks = 0;
		let open: Promise<void> = Promise.resolve();
		let release = () => {};
		// The real migrator (made once the app has its database), whose
		// reads of the schema wait on the gate while it is closed: the only
		// step of a readiness check that findPendingMigrations takes.
		let real: Migrator | undefined;
		const gated = {
			async getMigrations() {
				schemaChecks++;
				await open;
				return (real as Migrator).getMigrations();
			},
		} as unknown as Migrator;
		const app = await startApp(
			t,
			url,
			{
				routes: "admin",
				migrator: gated,
				// The route asks once per request (and the check once per run).
				isShuttingDown: () => {
					arrived++;
					return false;
				},
				// Held open for as long as the test needs, not cut by a timeout.
				readyTimeoutMs: 60_000,
			},
			{
				onQuery: () => {
					queries++;
				},
			},
		);
		real = createMigrator(app.database.db);

		// One check alone, on a warm pool: what it costs.
		t.equal((await app.get("/ready")).status, 200, "ready");
		const before = queries;
		t.equal((await app.get("/ready")).status, 200);
		const perCheck = queries - before;
		t.equal(
			perCheck,
			3,
			"one check sends 3 queries: select 1, and the schema's 2",
		);

		const flood = 200;
		open = new Promise((resolve) => {
			release = resolve;
		});
		arrived = 0;
		schemaChecks = 0;
		const sentBefore = queries;
		const answers = Promise.all(
			Array.from({ length: flood }, () => app.get("/ready")),
		);
		// Every request has reached the route (plus the check's own look),
		// and the one check waits at the gate.
		await waitFor(
			`${flood} requests at the route (${arrived} so far)`,
			() => arrived >= flood + 1 && schemaChecks >= 1,
			60_000,
		);
		release();
		const statuses = (await answers).map((answer) => answer.status);
		t.same([...new Set(statuses)], [200], `all ${flood} answered 200`);
		t.equal(schemaChecks, 1, "one readiness check ran for the whole flood");
		t.equal(
			queries - sentBefore,
			perCheck,
			`${flood} requests sent the queries of one check`,
		);
	},
);
