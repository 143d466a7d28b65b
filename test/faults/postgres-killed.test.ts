/**
 * PostgreSQL SIGKILLed and restarted, repeatedly, while eight clients load
 * `serve`: the process never crashes or hangs, the only failures are 503s
 * inside the outage, within the configured timeouts, every request succeeds
 * afterwards, and the connections sherpany holds never exceed its pool.
 *
 * Before the fix, a connection that was checked out of node-postgres' pool
 * had no 'error' listener, so the server's 57P01 (or the socket closing)
 * crashed `serve` with "Unhandled 'error' event" in about half the kills.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import t from "tap";
import { migrateAndSeed } from "../helpers/cli.ts";
import { answeredOk, get, startLoad, untilAnswered } from "../helpers/load.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startServe } from "../helpers/serve.ts";

const POOL_MAX = 4;
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 2000;
/** Enough kills to catch the race: before the fix, half of them crashed serve. */
const ROUNDS = 6;

const pg = await startPostgres(t);

/** Counts sherpany's connections every 50 ms; the most seen, and how many samples. */
function watchConnections(adminUrl: string) {
	let running = true;
	let most = 0;
	let counted = 0;
	const loop = (async () => {
		while (running) {
			const client = new Client({ connectionString: adminUrl });
			client.on("error", () => {});
			try {
				await client.connect();
				while (running) {
					const { rows } = await client.query<{ n: number }>(
						"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sherpany'",
					);
					most = Math.max(most, rows[0]?.n ?? 0);
					counted += 1;
					await sleep(50);
				}
			} catch {
				// The server is down: try again shortly.
				await sleep(50);
			} finally {
				await client.end().catch(() => {});
			}
		}
	})();
	return {
		async stop() {
			running = false;
			await loop;
			return { most, counted };
		},
	};
}

t.test("PostgreSQL SIGKILLed under load, six times", async (t) => {
	const url = await pg.createDatabase();
	await migrateAndSeed(t, url);
	const serve = await startServe(t, {
		DATABASE_URL: url,
		PG_POOL_MAX: String(POOL_MAX),
		PG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
		QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
		SHUTDOWN_DELAY_MS: "0",
	});
	const usersUrl = `${serve.baseUrl}/users`;
	const connections = watchConnections(
		pg.adminUrl.replace(/\/postgres$/, `/${new URL(url).pathname.slice(1)}`),
	);
	const began = Date.now();
	const load = startLoad({ url: usersUrl, clients: 8 });
	const outages: { from: number; to: number }[] = [];
	for (let round = 1; round <= ROUNDS; round += 1) {
		// Killed while the load is being served: a few more answers each
		// round, so the kill falls at a different point of the traffic.
		await untilAnswered(load, answeredOk(load) + 10 * round);
		const from = Date.now() - began;
		await pg.kill();
		t.comment(`round ${round}: killed at ${from} ms`);
		await sleep(200);
		await pg.start();
		t.comment(`round ${round}: restarted at ${Date.now() - began} ms`);
		// Recovered once a request succeeds again (bounded: a hang fails the test).
		let recovered = false;
		for (let tries = 0; tries < 100 && !recovered; tries += 1) {
			const probe = await get(usersUrl, undefined, 10_000);
			recovered = probe.status === 200;
			if (!recovered) await sleep(50);
		}
		t.ok(recovered, `round ${round}: /users answers 200 again after restart`);
		outages.push({ from, to: Date.now() - began });
		t.equal(serve.child.exitCode, null, `round ${round}: serve still runs`);
		if (serve.child.exitCode !== null) break;
	}
	// A quiet second after the last recovery, all of it must succeed.
	await sleep(1000);
	const samples = await load.stop();
	const seen = await connections.stop();

	t.notMatch(serve.stderr(), /Unhandled|ECONNRESET|Error:/, "no crash report");
	t.equal(serve.child.exitCode, null, "serve never exited");
	t.ok(samples.length > 100, `load ran (${samples.length} requests)`);
	const failures = samples.filter((sample) => sample.status !== 200);
	t.ok(
		failures.length > 0,
		`the outages were felt (${failures.length} failed)`,
	);
	t.same(
		failures.filter((sample) => sample.status !== 503),
		[],
		"every failure is an HTTP 503, never a reset or another status",
	);
	t.same(
		failures.filter(
			(sample) =>
				!/^\{"error":\{"code":"database_unavailable"/.test(sample.body ?? ""),
		),
		[],
		"every 503 says the database is unavailable, as JSON",
	);
	// Slack for a loaded, shared machine.
	const limit = QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 1000;
	t.same(
		failures.filter((sample) => sample.durationMs > limit),
		[],
		`every 503 came within ${limit} ms`,
	);
	t.same(
		samples.filter((sample) => sample.durationMs > limit),
		[],
		"no request hung",
	);
	// A failure must overlap an outage: it was in flight when the server was
	// killed, or started before the outage ended. An outage ends when a probe
	// first succeeds; requests already waiting on a connection attempt then
	// may still fail, so allow a moment after.
	const outside = failures.filter(
		(sample) =>
			!outages.some(
				({ from, to }) =>
					sample.startedAt + sample.durationMs >= from &&
					sample.startedAt <= to + 500,
			),
	);
	t.same(outside, [], "failures only inside the outages", {
		outages,
	});
	const lastRecovery = outages.at(-1)?.to ?? 0;
	t.same(
		samples.filter(
			(sample) =>
				sample.startedAt > lastRecovery + 500 && sample.status !== 200,
		),
		[],
		"every request after the last recovery succeeds",
	);
	t.ok(seen.counted > 10, `connections were counted (${seen.counted} times)`);
	t.ok(
		seen.most <= POOL_MAX,
		`sherpany held at most ${seen.most} connections (pool ${POOL_MAX})`,
	);
	const after = await get(usersUrl, undefined, 5000);
	t.equal(after.status, 200, "healthy afterwards");
	serve.child.kill("SIGTERM");
	t.equal(await serve.exited, 0, "and shuts down cleanly");
});
