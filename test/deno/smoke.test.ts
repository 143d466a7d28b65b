/**
 * The same `src/main.ts` under Deno 2 (`deno run -A src/main.ts …`, offline, on
 * the repo's node_modules) against a real PostgreSQL: version and help,
 * migrate, seed, serve with its endpoints, check-health, SIGTERM, and its
 * log lines on a terminal and through a pipe.
 */
import t from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { hasStackTrace } from "../helpers/cli.ts";
import {
	DENO_SHERPANY,
	denoEnv,
	runDenoBinary,
	runDenoCli,
} from "../helpers/deno.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startServe } from "../helpers/serve.ts";
import { runLoggedServe } from "../helpers/serve-logs.ts";

const baseEnv = await denoEnv(t);
const denoVersion = await runDenoBinary(["--version"], baseEnv);
const version = /^deno (\S+)/.exec(denoVersion.stdout)?.[1] ?? "";
t.comment(`Deno: ${denoVersion.stdout.split("\n")[0] ?? "(none)"}`);
t.equal(denoVersion.code, 0, "deno --version runs");
t.match(version, /^2\./, "Deno 2");

t.test("--version and --help", async (t) => {
	const printed = await runDenoCli(["--version"], baseEnv);
	t.equal(printed.code, 0);
	t.match(
		printed.stdout,
		new RegExp(`^sherpany \\d+\\.\\d+\\.\\d+\\S* \\(deno ${version}\\)\\n$`),
		"names the Deno runtime",
	);
	t.equal(printed.stderr, "");

	const help = await runDenoCli(["--help"], baseEnv);
	t.equal(help.code, 0);
	t.match(help.stdout, /^Usage: sherpany /);
	for (const command of ["serve", "migrate", "seed", "check-health"]) {
		t.match(help.stdout, new RegExp(`\\n  ${command}\\b`), command);
	}
	t.equal(help.stderr, "");
});

t.test("a config error exits 2 with one line and no stack trace", async (t) => {
	const result = await runDenoCli(["serve"], {
		...baseEnv,
		PORT: "abc",
		DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
	});
	t.equal(result.code, 2);
	t.match(result.stderr, /^sherpany: PORT: .*"abc"\n$/, "one line");
	t.notOk(hasStackTrace(result.stderr), "no stack trace");
	t.equal(result.stdout, "");
});

t.test("migrate, seed, serve, check-health and SIGTERM", async (t) => {
	const pg = await startPostgres(t);
	const url = await pg.createDatabase();
	const env = { ...baseEnv, DATABASE_URL: url };

	const first = await runDenoCli(["migrate"], env);
	t.equal(first.code, 0, "migrate", { stderr: first.stderr });
	t.match(first.stdout, /applied 1 migration/);
	const again = await runDenoCli(["migrate"], env);
	t.equal(again.code, 0, "migrate again");
	t.match(again.stdout, /up to date/);
	const status = await runDenoCli(["migrate", "status"], env);
	t.equal(status.code, 0, "migrate status");
	t.match(status.stdout, /0001_create_users\s+applied/);
	t.match(status.stdout, /1 applied, 0 pending/);

	const seeded = await runDenoCli(["seed"], env);
	t.equal(seeded.code, 0, "seed", { stderr: seeded.stderr });
	t.match(seeded.stdout, /3 inserted/);
	const reseeded = await runDenoCli(["seed"], env);
	t.equal(reseeded.code, 0, "seed again");
	t.match(reseeded.stdout, /0 inserted, 3 already present/);
	t.same(
		await pg.query(url, "SELECT count(*)::int AS n FROM users"),
		[{ n: 3 }],
		"3 users",
	);

	const serve = await startServe(
		t,
		{ ...env, SHUTDOWN_DELAY_MS: "0" },
		[],
		DENO_SHERPANY,
	);
	const users = await checkedFetch(`${serve.baseUrl}/users`);
	t.equal(users.status, 200);
	t.same(await users.json(), [
		{ id: 1, name: "John Doe", email: "john@example.com" },
		{ id: 2, name: "Jane Smith", email: "jane@example.com" },
		{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
	]);
	const health = await checkedFetch(`${serve.baseUrl}/health`);
	t.equal(health.status, 200);
	t.equal(await health.text(), '{"status":"healthy"}');
	const ready = await checkedFetch(`${serve.baseUrl}/ready`);
	t.equal(ready.status, 200, "/ready");
	await ready.body?.cancel();
	const metrics = await checkedFetch(`${serve.baseUrl}/metrics`);
	t.equal(metrics.status, 200, "/metrics");
	const exposition = await metrics.text();
	t.match(exposition, `sherpany_build_info{version=`, "build info is exposed");
	t.match(
		exposition,
		`runtime="deno ${version}"`,
		"labelled with the Deno runtime",
	);
	t.match(exposition, /http_request_duration_seconds_count\{/);

	const live = await runDenoCli(["check-health"], {
		...baseEnv,
		PORT: String(serve.port),
	});
	t.equal(live.code, 0, "check-health against the live server", {
		stderr: live.stderr,
	});

	serve.child.kill("SIGTERM");
	t.equal(await serve.exited, 0, "SIGTERM exits 0");
	t.ok(
		serve.lines.some((line) => line.includes('"msg":"shutdown complete"')),
		"shutdown completed",
	);
	t.equal(serve.stderr(), "", "nothing on stderr");

	const stopped = await runDenoCli(["check-health"], {
		...baseEnv,
		PORT: String(serve.port),
	});
	t.equal(stopped.code, 1, "check-health against the stopped server");
	t.notOk(hasStackTrace(stopped.stderr), "no stack trace");
});

t.test("on a terminal, readable log lines; through a pipe, JSON", async (t) => {
	const pg = await startPostgres(t);
	const env = {
		...baseEnv,
		DATABASE_URL: await createMigratedDatabase(pg),
		SHUTDOWN_DELAY_MS: "0",
	};
	const onTerminal = await runLoggedServe(t, {
		command: DENO_SHERPANY,
		env,
		terminal: true,
		requestId: "deno-on-a-terminal",
	});
	t.equal(onTerminal.code, 0, "Ctrl-C exits 0", {
		stderr: onTerminal.stderr,
	});
	t.ok(
		onTerminal.lines.some((line) =>
			/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: request GET \/users 200 [\d.]+ ms \{"requestId":"deno-on-a-terminal"\}$/.test(
				line,
			),
		),
		"the request in one readable line (uncoloured: NO_COLOR is set)",
		{ lines: onTerminal.lines },
	);
	const throughPipe = await runLoggedServe(t, {
		command: DENO_SHERPANY,
		env,
		terminal: false,
		requestId: "deno-through-a-pipe",
	});
	t.equal(throughPipe.code, 0, "SIGTERM exits 0");
	t.ok(
		throughPipe.lines.some(
			(line) =>
				line.startsWith('{"level":"info","time":') &&
				line.includes('"requestId":"deno-through-a-pipe"'),
		),
		"the request as a JSON line",
		{ lines: throughPipe.lines },
	);
});
