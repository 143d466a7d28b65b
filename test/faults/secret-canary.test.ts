/**
 * The secret canary: one distinctive password, given as DATABASE_URL, as
 * PGPASSWORD and as DATABASE_URL_FILE, through every command, their error
 * paths, `/metrics`, `/ready` and every log level (trace included). It must
 * appear nowhere: not on stdout, not on stderr, not in an HTTP body.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort, startServe } from "../helpers/serve.ts";

const CANARY = "Canary-7f3Qx9-pw";
const pg = await startPostgres(t);

t.test("the password appears in no output, log or response", async (t) => {
	const url = await pg.createDatabase();
	// Trust auth ignores the password, so the happy paths work with it.
	const withSecret = url.replace("postgres@", `postgres:${CANARY}@`);
	const dir = t.testdir({});
	const urlFile = join(dir, "database-url");
	await writeFile(urlFile, withSecret);
	const badFile = join(dir, "bad.csv");
	await writeFile(badFile, 'name,email\nx,not-an-email\n"unterminated\n');
	const deadUrl = `postgres://postgres:${CANARY}@127.0.0.1:${await freePort()}/x`;
	const noDb = withSecret.replace(/\/[^/]+$/, "/no_such_db");
	const pgEnv = (database: string) => ({
		PGHOST: "127.0.0.1",
		PGPORT: String(pg.port),
		PGUSER: "postgres",
		PGDATABASE: database,
		PGPASSWORD: CANARY,
	});
	// Each run with the exit code it must give: a run that failed for another
	// reason than the one meant would print other text, so the code is checked
	// too.
	const runs: [string[], Record<string, string>, number][] = [
		[["migrate"], { DATABASE_URL: withSecret }, 0],
		[["migrate", "status"], { DATABASE_URL_FILE: urlFile }, 0],
		[["seed"], pgEnv(new URL(url).pathname.slice(1)), 0],
		[["seed", "--count", "10"], { DATABASE_URL: withSecret }, 0],
		[["seed", "--file", badFile], { DATABASE_URL: withSecret }, 1],
		[["seed", "--count", "-1"], { DATABASE_URL: withSecret }, 2],
		[["migrate"], { DATABASE_URL: deadUrl, PG_CONNECT_TIMEOUT_MS: "500" }, 1],
		[["migrate"], { DATABASE_URL: noDb }, 1],
		[["migrate"], { DATABASE_URL: `${withSecret}?sslmode=verify-full` }, 2],
		[["migrate"], { DATABASE_URL: withSecret, PG_POOL_MAX: "nope" }, 2],
		[["migrate", "--database-url", `${withSecret}x:%zz`], {}, 2],
		[["check-health", "--ready"], { DATABASE_URL: withSecret, PORT: "1" }, 1],
	];
	for (const [index, [args, env, code]] of runs.entries()) {
		const result = await runCli(args, { LOG_LEVEL: "trace", ...env });
		const name = `run ${index + 1}, ${args.slice(0, 2).join(" ")}`;
		t.equal(result.code, code, `${name} exits ${code}`, {
			stderr: result.stderr,
		});
		t.notMatch(result.stdout + result.stderr, CANARY, `${name}: no password`);
	}

	for (const [name, env] of [
		["a working database", { DATABASE_URL: withSecret }],
		[
			"a dead database",
			{ DATABASE_URL: deadUrl, PG_CONNECT_TIMEOUT_MS: "300" },
		],
		["PGPASSWORD", pgEnv(new URL(url).pathname.slice(1))],
	] as const) {
		const serve = await startServe(t, {
			LOG_LEVEL: "trace",
			SHUTDOWN_DELAY_MS: "0",
			...env,
		});
		let bodies = "";
		for (const path of ["/users", "/ready", "/health", "/metrics", "/nope"]) {
			const response = await checkedFetch(`${serve.baseUrl}${path}`);
			bodies += await response.text();
		}
		t.notMatch(bodies, CANARY, `serve on ${name}: no password in a response`);
		serve.child.kill("SIGTERM");
		t.equal(await serve.exited, 0, `serve on ${name}: SIGTERM exits 0`);
		t.notMatch(
			serve.lines.join("\n") + serve.stderr(),
			CANARY,
			`serve on ${name}: no password in its trace-level log`,
		);
		t.ok(
			serve.lines.length > 5,
			`serve on ${name}: it did log (${serve.lines.length} lines)`,
		);
	}
});
