/**
 * A flood of `/ready` (from outside on the API port, or from inside the
 * cluster on the admin port, where nothing sheds) must not take the pool
 * from `/users`: concurrent readiness checks share one run, so a flood
 * costs the database one check at a time however many requests wait on it.
 */
import t from "tap";
import { startApp, type TestApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t, { everyServer: false });
const url = await createMigratedDatabase(pg);

/** Queries the app has sent to the database so far. */
async function queries(app: TestApp): Promise<number> {
	const text = await app.metrics.registry.metrics();
	let total = 0;
	for (const match of text.matchAll(
		/^sherpany_db_query_duration_seconds_count\{[^}]*\} (\S+)$/gm,
	))
		total += Number(match[1]);
	return total;
}

t.test(
	"concurrent /ready requests on the admin port, which never sheds, share one readiness check",
	async (t) => {
		const app = await startApp(t, url, { routes: "admin" });
		// Warm the pool and the migrator so both runs compare like with like.
		t.equal((await app.get("/ready")).status, 200, "ready");
		// A scrape runs the readiness checks too: count what it costs alone.
		const scrape = -(await queries(app)) + (await queries(app));
		const one = await queries(app);
		await app.get("/ready");
		const perCheck = (await queries(app)) - one - scrape;
		t.ok(perCheck > 0, `one check sends ${perCheck} queries`);

		const flood = 200;
		const before = await queries(app);
		const answers = await Promise.all(
			Array.from({ length: flood }, () => app.get("/ready")),
		);
		const sent = (await queries(app)) - before - scrape;
		t.same(
			[...new Set(answers.map((answer) => answer.status))],
			[200],
			`all ${flood} answered 200`,
		);
		// Unshared, the flood costs one check per request. Shared, it costs
		// one per wave of arrivals: a few when the machine is idle, up to
		// about 50 when it is busy and the requests trickle in (153 queries
		// seen in a fresh-clone CI run). Half the unshared cost keeps that
		// margin and still fails the unshared route.
		t.ok(
			sent <= (flood * perCheck) / 2,
			`${flood} requests sent ${sent} queries (${perCheck} per check)`,
		);
	},
);
