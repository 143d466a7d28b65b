/**
 * What a person at a terminal sees from `serve`: the embedded database's
 * first start announced before it begins, the URL to try once ready, and
 * how Ctrl-C and a second signal end it. Orchestrated PostgreSQL deployments
 * keep the delay that lets load balancers notice.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Client } from "pg";
import t from "tap";
import { shutdownDeadlineMs } from "../../src/commands/serve-shutdown.ts";
import { describeEmbeddedFallback } from "../../src/config/embedded-state.ts";
import { loadServerConfig } from "../../src/config/server.ts";
import { coverageEnv, migrateAndSeed, SHERPANY_BIN } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort, startServe, watchUntilListening } from "../helpers/serve.ts";

const pg = await startPostgres(t);

type LogLine = Record<string, unknown>;
const parse = (lines: readonly string[]): LogLine[] =>
	lines
		// On a terminal, the echoed ^C precedes the next line.
		.map((line) => line.trim().replace(/^\^C/, ""))
		.filter((line) => line.startsWith("{"))
		.map((line) => JSON.parse(line) as LogLine);

/** Resolves once a logged line satisfies `test`. */
async function waitForLine(
	lines: readonly string[],
	test: (entry: LogLine) => boolean,
): Promise<LogLine> {
	for (let waited = 0; waited < 30_000; waited += 20) {
		const found = parse(lines).find(test);
		if (found) return found;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	throw new Error("no such log line in 30 s");
}

/** Resolves once the child's stdout has ended: lines may follow the exit event. */
async function outputEnded(child: ChildProcess): Promise<void> {
	if (child.stdout && !child.stdout.readableEnded)
		await new Promise((resolve) => child.stdout?.once("end", resolve));
}

t.test(
	"the embedded database: announced before it is created, the URL once ready, and no delay on exit",
	async (t) => {
		const dataDir = join(t.testdir({}), "data");
		const first = await startServe(t, { SHERPANY_DATA_DIR: dataDir });
		const ready = await waitForLine(first.lines, (entry) =>
			String(entry.msg).startsWith("ready"),
		);
		t.equal(
			ready.msg,
			`ready: try curl http://127.0.0.1:${first.port}/users`,
			"the ready line gives the URL to try",
		);
		const logs = parse(first.lines);
		t.match(
			logs.slice(0, 4),
			[
				{
					msg: `${describeEmbeddedFallback()}; creating it in ${dataDir}, which takes several seconds the first time…`,
				},
				{ msg: "migrated the embedded database" },
				{ msg: "seeded the new embedded database with the sample users" },
				{ msg: "listening", url: `http://127.0.0.1:${first.port}/users` },
			],
			"the first line says what is happening, before the work",
		);

		first.child.kill("SIGINT");
		t.equal(await first.exited, 0, "SIGINT exits 0");
		await outputEnded(first.child);
		t.match(
			parse(first.lines).find((entry) => entry.reason === "SIGINT"),
			{
				delayMs: 0,
				msg: "shutting down: draining in-flight requests for up to 20 s",
			},
			"no load-balancer delay on the embedded database",
		);

		const second = await startServe(t, { SHERPANY_DATA_DIR: dataDir });
		t.match(
			parse(second.lines)[0],
			{ msg: `; opening it in ${dataDir}…` },
			"an existing database is opened, not created",
		);
		second.child.kill("SIGTERM");
		t.equal(await second.exited, 0);
	},
);

t.test(
	"PostgreSQL keeps the delay; a second signal exits 1 with one line",
	async (t) => {
		const serve = await startServe(t, {
			DATABASE_URL: await pg.createDatabase(),
		});
		serve.child.kill("SIGTERM");
		t.match(
			await waitForLine(serve.lines, (entry) => entry.reason === "SIGTERM"),
			{
				delayMs: 5000,
				msg: "shutting down: readiness now fails; waiting 5 s for load balancers to notice, then draining in-flight requests for up to 20 s",
			},
			"the default delay, said with its length",
		);
		// The first readiness check, begun at "listening", ends during the
		// delay: it must stay silent then (asserted below).
		await new Promise((resolve) => setTimeout(resolve, 500));
		serve.child.kill("SIGINT");
		t.equal(await serve.exited, 1, "the second signal exits 1");
		await outputEnded(serve.child);
		const logs = parse(serve.lines);
		t.equal(
			logs.filter((entry) => /^second /.test(String(entry.msg))).length,
			1,
			"one line says so",
		);
		t.match(logs.at(-1), {
			level: "error",
			signal: "SIGINT",
			msg: "second SIGINT: exiting at once, without finishing the shutdown",
		});
		t.notOk(
			logs.some((entry) => entry.msg === "shutdown complete"),
			"the shutdown did not finish",
		);
		// This database is not migrated, so the first readiness check may log
		// "not ready yet", but only before shutdown begins.
		const shutdownStart = logs.findIndex((entry) => entry.reason === "SIGTERM");
		t.notOk(
			logs
				.slice(shutdownStart)
				.some((entry) => /^(not )?ready\b/.test(String(entry.msg))),
			"no readiness line once shutdown has begun",
		);
	},
);

t.test(
	"Ctrl-C at a terminal skips the delay, even on PostgreSQL",
	async (t) => {
		const port = await freePort();
		// script(1) runs serve on a pseudo-terminal; writing ^C to it makes the
		// terminal send SIGINT, as a keyboard would.
		const child = spawn(
			"script",
			["-qefc", `exec ${SHERPANY_BIN} serve`, "/dev/null"],
			{
				env: {
					...coverageEnv(),
					PATH: process.env.PATH ?? "/usr/bin:/bin",
					PORT: String(port),
					HOST: "127.0.0.1",
					DATABASE_URL: await pg.createDatabase(),
					// JSON on the terminal too, for the lines read below.
					LOG_FORMAT: "json",
					// Ten minutes: kept, it would outlast the test's own timeout.
					SHUTDOWN_DELAY_MS: "600000",
				},
				stdio: ["pipe", "pipe", "pipe"],
			},
		);
		const { lines, exited } = await watchUntilListening(t, child);
		child.stdin?.write("\x03");
		t.equal(await exited, 0, "exits 0, without the ten-minute delay");
		await outputEnded(child);
		t.match(
			parse(lines).find((entry) => entry.reason === "SIGINT"),
			{
				delayMs: 0,
				msg: "shutting down: draining in-flight requests for up to 20 s; press Ctrl-C again to exit at once",
			},
		);
		t.ok(
			parse(lines).some((entry) => entry.msg === "shutdown complete"),
			"a clean shutdown",
		);
	},
);

t.test(
	"a shutdown that overruns its deadline exits 1 with one line",
	async (t) => {
		const shutdown = { SHUTDOWN_DELAY_MS: "3000", SHUTDOWN_TIMEOUT_MS: "1000" };
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		const serve = await startServe(t, {
			DATABASE_URL: url,
			QUERY_TIMEOUT_MS: "600000",
			...shutdown,
		});
		const deadlineMs = shutdownDeadlineMs(loadServerConfig(shutdown));
		// A request held in flight by a lock on users, so that the drain,
		// which starts only after the process wakes, has work left: its own
		// deadline is then still ahead when the overall one has passed.
		const locker = new Client({ connectionString: url });
		await locker.connect();
		t.teardown(() => locker.end());
		await locker.query("begin; lock table users in access exclusive mode");
		const held = fetch(`${serve.baseUrl}/users`).catch(() => undefined);
		for (let waited = 0; waited < 60_000; waited += 50) {
			const { rows } = await locker.query(
				"select count(*)::int as n from pg_locks where relation = 'users'::regclass and not granted",
			);
			if (rows[0]?.n > 0) break;
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		serve.child.kill("SIGTERM");
		// The deadline is armed before this line; the delay has just begun.
		await waitForLine(serve.lines, (entry) => entry.reason === "SIGTERM");
		const armed = Date.now();
		// A process stopped past every deadline (a frozen node, a starved
		// CPU): on waking, the deadline has passed before the shutdown could
		// finish. The stop is the fault, so here the clock is the subject.
		serve.child.kill("SIGSTOP");
		await new Promise((resolve) =>
			setTimeout(resolve, deadlineMs + 2000 - (Date.now() - armed)),
		);
		serve.child.kill("SIGCONT");
		t.equal(await serve.exited, 1, "exits 1");
		await outputEnded(serve.child);
		const logs = parse(serve.lines);
		t.match(logs.at(-1), {
			level: "error",
			deadlineMs,
			msg: "shutdown overran its deadline: exiting",
		});
		t.notOk(
			logs.some((entry) => entry.msg === "shutdown complete"),
			"the shutdown did not finish",
		);
		await held;
	},
);
