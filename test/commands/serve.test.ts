import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import t from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import {
	coverageEnv,
	hasStackTrace,
	migrateAndSeed,
	runCli,
	SHERPANY_BIN,
} from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort, startServe } from "../helpers/serve.ts";

const pg = await startPostgres(t);

/** A database with the schema, the sample users and `extra` synthetic ones, through the CLI. */
async function preparedDatabase(extra = 0): Promise<string> {
	const url = await pg.createDatabase();
	for (const args of [
		["migrate"],
		["seed"],
		...(extra > 0 ? [["seed", "--count", String(extra)]] : []),
	]) {
		const result = await runCli(args, { DATABASE_URL: url });
		if (result.code !== 0)
			throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
	}
	return url;
}

t.test(
	"migrate, seed, serve: the three users with the original shapes",
	async (t) => {
		const url = await preparedDatabase();
		const serve = await startServe(t, {
			DATABASE_URL: url.replace("postgres@", "postgres:topsecret@"),
		});
		const users = await checkedFetch(`${serve.baseUrl}/users`);
		t.same(await users.json(), [
			{ id: 1, name: "John Doe", email: "john@example.com" },
			{ id: 2, name: "Jane Smith", email: "jane@example.com" },
			{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
		]);
		t.equal(
			await (await checkedFetch(`${serve.baseUrl}/health`)).text(),
			'{"status":"healthy"}',
		);

		const live = await runCli(["check-health"], { PORT: String(serve.port) });
		t.equal(live.code, 0, "check-health against the live server");
		const ready = await runCli(["check-health", "--ready"], {
			PORT: String(serve.port),
		});
		t.equal(ready.code, 0, "check-health --ready against the live server");

		serve.child.kill("SIGTERM");
		t.equal(await serve.exited, 0, "SIGTERM exits 0");
		const stopped = await runCli(["check-health"], {
			PORT: String(serve.port),
		});
		t.equal(stopped.code, 1, "check-health against the stopped server");

		const logs = serve.lines.map(
			(line) => JSON.parse(line) as Record<string, unknown>,
		);
		const request = logs.find(
			(entry) => entry.msg === "request" && entry.route === "/users",
		);
		t.match(request, {
			method: "GET",
			route: "/users",
			status: 200,
			durationMs: Number,
			requestId: String,
		});
		t.notOk(
			logs.some(
				(entry) =>
					entry.msg === "request" &&
					(entry.route === "/health" || entry.route === "/ready"),
			),
			"successful probes are logged at debug, not info",
		);
		t.ok(logs.some((entry) => entry.msg === "shutdown complete"));
		t.notMatch(
			serve.lines.join("\n"),
			/topsecret/,
			"no password in any log line",
		);
		t.equal(serve.stderr(), "", "nothing on stderr");
	},
);

t.test(
	"SIGTERM: readiness fails first, in-flight requests complete, then exit 0",
	async (t) => {
		const url = await preparedDatabase(150_000);
		// The delay is generous: the two requests below must fall inside it
		// on a loaded machine too.
		const serve = await startServe(t, {
			DATABASE_URL: url,
			SHUTDOWN_DELAY_MS: "5000",
		});
		const streaming = await checkedFetch(`${serve.baseUrl}/users`, {
			headers: { Accept: "application/x-ndjson" },
		});
		t.equal(streaming.status, 200, "response begun");
		serve.child.kill("SIGTERM");
		await waitForLine(serve.lines, /"reason":"SIGTERM"/);
		const ready = await checkedFetch(`${serve.baseUrl}/ready`);
		t.equal(ready.status, 503, "readiness fails during the delay");
		t.same(await ready.json(), {
			status: "not ready",
			checks: { shutdown: "shutting down" },
		});
		t.equal(
			ready.headers.get("connection"),
			"close",
			"clients are told not to reuse connections",
		);
		t.equal(
			(await checkedFetch(`${serve.baseUrl}/users?limit=1`)).status,
			200,
			"still serving during the delay",
		);

		const body = await streaming.text();
		t.equal(
			body.trimEnd().split("\n").length,
			150_003,
			"the in-flight stream completed",
		);
		t.equal(await serve.exited, 0);
		await t.rejects(
			checkedFetch(`${serve.baseUrl}/health`),
			"no longer accepting",
		);
	},
);

t.test("the admin port serves /metrics apart from the API", async (t) => {
	const url = await preparedDatabase();
	const adminPort = await freePort();
	const serve = await startServe(t, {
		DATABASE_URL: url,
		ADMIN_PORT: String(adminPort),
		SHUTDOWN_DELAY_MS: "0",
	});
	t.equal(
		(await checkedFetch(`${serve.baseUrl}/metrics`)).status,
		404,
		"not on the API port",
	);
	const metrics = await checkedFetch(`http://127.0.0.1:${adminPort}/metrics`);
	t.equal(metrics.status, 200);
	t.match(await metrics.text(), /sherpany_build_info/);
	serve.child.kill("SIGINT");
	t.equal(await serve.exited, 0, "SIGINT exits 0 too");
});

t.test("a port in use exits 1 with one clear line", async (t) => {
	const url = await preparedDatabase();
	const first = await startServe(t, {
		DATABASE_URL: url,
		SHUTDOWN_DELAY_MS: "0",
	});
	const second = await runCli(["serve"], {
		DATABASE_URL: url,
		PORT: String(first.port),
		HOST: "127.0.0.1",
	});
	t.equal(second.code, 1);
	t.match(
		second.stderr,
		/^sherpany: port \d+ on 127\.0\.0\.1 is already in use: pass --port or set PORT\n$/,
	);
	t.notOk(hasStackTrace(second.stderr));
	first.child.kill("SIGTERM");
	await first.exited;
});

t.test(
	"a frozen database: requests get a 503 in time, shutdown still exits 0",
	async (t) => {
		const cluster = await startPostgres(t);
		const url = await cluster.createDatabase();
		await migrateAndSeed(t, url);
		const env = {
			DATABASE_URL: url,
			PG_CONNECT_TIMEOUT_MS: "500",
			SHUTDOWN_DELAY_MS: "0",
			SHUTDOWN_TIMEOUT_MS: "500",
		};
		const quick = await startServe(t, { ...env, QUERY_TIMEOUT_MS: "500" });
		// With a long query timeout, a request still holds its connection
		// when the drain deadline passes, and closing the pool would wait.
		const patient = await startServe(t, { ...env, QUERY_TIMEOUT_MS: "60000" });
		for (const serve of [quick, patient]) {
			t.equal((await checkedFetch(`${serve.baseUrl}/users`)).status, 200);
		}

		// Stop every server process (SIGSTOP): connections stay open, nothing answers.
		const [{ dir }] = (await cluster.query(
			cluster.adminUrl,
			"select current_setting('data_directory') as dir",
		)) as [{ dir: string }];
		const postmaster = Number(
			(await readFile(`${dir}/postmaster.pid`, "utf8")).split("\n")[0],
		);
		const backends = await cluster.query(
			cluster.adminUrl,
			"select pid from pg_stat_activity where pid <> pg_backend_pid()",
		);
		const pids = [postmaster, ...backends.map((row) => Number(row.pid))];
		const signalAll = (signal: NodeJS.Signals) => {
			for (const pid of pids) {
				try {
					process.kill(pid, signal);
				} catch {
					// Already gone.
				}
			}
		};
		signalAll("SIGSTOP");
		t.teardown(() => signalAll("SIGCONT"));

		// Without the query timeout the request would wait as long as the
		// database stays frozen: a minute is far beyond the 500 ms timeout.
		const response = await checkedFetch(`${quick.baseUrl}/users`, {
			signal: AbortSignal.timeout(60_000),
		});
		t.equal(response.status, 503, "a 503 within the query timeout");
		t.equal(
			(await checkedFetch(`${quick.baseUrl}/health`)).status,
			200,
			"still alive",
		);

		const hanging = checkedFetch(`${patient.baseUrl}/users`).catch(
			() => undefined,
		);
		await new Promise((resolve) => setTimeout(resolve, 200));
		quick.child.kill("SIGTERM");
		patient.child.kill("SIGTERM");
		t.equal(await quick.exited, 0, "a clean exit despite the database");
		// An unbounded close would wait for the query (60 s) and overrun the
		// shutdown's deadline, which exits 1.
		t.equal(
			await patient.exited,
			0,
			"a clean exit with a query still waiting: closing the database is bounded",
		);
		t.match(patient.lines.join("\n"), /the database did not close in time/);
		await hanging;
		signalAll("SIGCONT");
	},
);

t.test(
	"SIGTERM while starting up is logged, and shuts down once started",
	async (t) => {
		const child = spawn(SHERPANY_BIN, ["serve"], {
			env: {
				...coverageEnv(),
				PATH: process.env.PATH ?? "/usr/bin:/bin",
				PORT: String(await freePort()),
				SHERPANY_DATA_DIR: "memory://",
				SHUTDOWN_DELAY_MS: "0",
			},
			stdio: ["ignore", "pipe", "pipe"],
		});
		const lines: string[] = [];
		let buffered = "";
		child.stdout.on("data", (chunk) => {
			buffered += chunk;
			const parts = buffered.split("\n");
			buffered = parts.pop() ?? "";
			lines.push(...parts);
		});
		const exited = new Promise<number | null>((resolve) =>
			child.once("exit", (code) => resolve(code)),
		);
		t.teardown(() => {
			if (child.exitCode === null && child.signalCode === null)
				child.kill("SIGKILL");
		});
		// The first line announces the database, before PGlite starts
		// creating it (seconds), and after the signal handlers are in place.
		await waitForLine(lines, /"msg":"[^"]*creating it in memory/);
		t.notMatch(lines.join("\n"), /"msg":"listening"/, "not started yet");
		child.kill("SIGTERM");
		t.equal(await exited, 0);
		if (!child.stdout.readableEnded)
			await new Promise((resolve) => child.stdout.once("end", resolve));
		const messages = lines.map(
			(line) => (JSON.parse(line) as { msg: string }).msg,
		);
		const said = messages.indexOf(
			"SIGTERM received while starting: shutting down as soon as start-up has finished",
		);
		t.ok(said > 0, "the signal is logged when it arrives", { messages });
		t.ok(
			said > 0 && said < messages.indexOf("listening"),
			"before start-up has finished",
		);
		t.ok(
			messages.indexOf("listening") <
				messages.findIndex((msg) => msg.startsWith("shutting down")),
			"start-up finishes, then the shutdown begins",
		);
		t.equal(messages.at(-1), "shutdown complete");
	},
);

/** Resolves once a line matches `pattern` (bounded: 60 s). */
async function waitForLine(
	lines: readonly string[],
	pattern: RegExp,
): Promise<void> {
	for (let waited = 0; waited < 60_000; waited += 20) {
		if (lines.some((line) => pattern.test(line))) return;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	throw new Error(`no line matched ${pattern} in 60 s: ${lines.join("\n")}`);
}
