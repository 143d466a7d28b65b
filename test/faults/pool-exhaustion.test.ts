/**
 * More concurrent slow requests than the pool holds: a lock on `users`
 * stalls every query. Requests queue briefly and then answer 503 within
 * QUERY_TIMEOUT_MS plus the connect timeout, nothing hangs, memory stays
 * bounded, and once the lock is released the service is healthy again.
 */
import { readFileSync } from "node:fs";
import { Client } from "pg";
import t from "tap";
import { migrateAndSeed } from "../helpers/cli.ts";
import { get } from "../helpers/load.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startServe } from "../helpers/serve.ts";

const POOL_MAX = 2;
const CONNECT_TIMEOUT_MS = 500;
const QUERY_TIMEOUT_MS = 1000;
/** Rounds of concurrent requests while the lock is held. */
const ROUNDS = 3;
/**
 * Fifty times the pool (and below serve's 128 in flight, so nothing is
 * shed): queued behind one another instead of timing out, they would take
 * 50 query timeouts, far beyond the generous limit below.
 */
const CONCURRENCY = 100;

const pg = await startPostgres(t);

/** Resident memory of a process, in MB (Linux). */
function rssMb(pid: number): number {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

t.test(
	"a lock on users exhausts the pool: timely 503s, then healthy",
	async (t) => {
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		const serve = await startServe(t, {
			DATABASE_URL: url,
			PG_POOL_MAX: String(POOL_MAX),
			PG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
			QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
		});
		const usersUrl = `${serve.baseUrl}/users`;
		t.equal(
			(await get(usersUrl, undefined, 5000)).status,
			200,
			"healthy first",
		);
		const pid = serve.child.pid ?? 0;
		const rssBefore = rssMb(pid);

		const locker = new Client({ connectionString: url });
		await locker.connect();
		t.teardown(() => locker.end().catch(() => {}));
		await locker.query("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

		// Expected: about QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS. Generous for a
		// loaded machine, and still a fifth of what a queue would take.
		const limit = 10_000;
		for (let round = 1; round <= ROUNDS; round += 1) {
			const began = Date.now();
			const answers = await Promise.all(
				Array.from({ length: CONCURRENCY }, () =>
					get(usersUrl, undefined, 60_000),
				),
			);
			const elapsed = Date.now() - began;
			t.same(
				answers.filter((answer) => answer.status !== 503),
				[],
				`round ${round}: all ${CONCURRENCY} answered 503`,
			);
			t.ok(
				answers.every((answer) =>
					/"database_unavailable"/.test(answer.body ?? ""),
				),
				`round ${round}: saying the database is unavailable`,
			);
			t.ok(
				elapsed <= limit,
				`round ${round}: within ${elapsed} ms (limit ${limit})`,
			);
		}
		const rssDuring = rssMb(pid);
		t.ok(
			rssDuring < rssBefore + 100,
			`memory stays bounded (${rssBefore.toFixed(0)} → ${rssDuring.toFixed(0)} MB)`,
		);

		await locker.query("ROLLBACK");
		const after = await Promise.all(
			Array.from({ length: CONCURRENCY }, () =>
				get(usersUrl, undefined, 30_000),
			),
		);
		t.same(
			after.filter((answer) => answer.status !== 200),
			[],
			"every request succeeds once the lock is released",
		);
		const held = await pg.query(
			url,
			"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sherpany'",
		);
		t.ok(
			Number(held[0]?.n) <= POOL_MAX,
			`at most ${POOL_MAX} connections held`,
		);
		serve.child.kill("SIGTERM");
		t.equal(await serve.exited, 0, "SIGTERM exits 0");
	},
);
