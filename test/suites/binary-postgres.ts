/**
 * A built executable, alone in a temp dir with an empty environment,
 * against a real PostgreSQL: --version, migrate, seed, serve, the endpoints
 * (the NDJSON export included), check-health and SIGTERM, and no password
 * in anything it prints. test/binary/postgres.test.ts runs it on
 * dist/sherpany, test/arm64/binary-postgres.test.ts on
 * dist/sherpany-linux-arm64 under qemu.
 */

import { join } from "node:path";
import type { Test } from "tap";
import {
	type BinaryTarget,
	exists,
	type RunResult,
	sandbox,
} from "../helpers/binary.ts";
import {
	appliedStatus,
	checkHttp,
	stopAndCheck,
	userList,
} from "../helpers/binary-checks.ts";
import { hasStackTrace } from "../helpers/cli.ts";
import {
	type StartPostgresOptions,
	startPostgres,
} from "../helpers/postgres.ts";

/** Runs the suite on `target`; `postgres` chooses the server(s). */
export async function binaryPostgresSuite(
	t: Test,
	target: BinaryTarget,
	postgres: StartPostgresOptions = {},
): Promise<void> {
	const pg = await startPostgres(t, postgres);
	const box = await sandbox(t, target);
	const version = await box.run(["--version"]);
	t.equal(version.code, 0, "--version exits 0");
	t.match(version.stdout, /^sherpany \d+\.\d+\.\d+ \(node 24\.\d+\.\d+\)\n$/);

	const url = await pg.createDatabase();
	// Trust auth accepts any password: it must still never be printed.
	const env = { DATABASE_URL: url.replace("postgres@", "postgres:s3cret@") };
	const outputs: RunResult[] = [];
	const run = async (args: string[]): Promise<RunResult> => {
		const result = await box.run(args, env);
		outputs.push(result);
		return result;
	};

	t.same(
		await run(["migrate", "status"]),
		{
			code: 0,
			signal: null,
			stdout: "0001_create_users  pending\n0 applied, 1 pending\n",
			stderr: "",
		},
		"migrate status on an empty database",
	);
	t.same(
		await run(["migrate"]),
		{
			code: 0,
			signal: null,
			stdout:
				"applied 0001_create_users\napplied 1 migration(s); the database is up to date\n",
			stderr: "",
		},
		"migrate applies the migration compiled into the binary",
	);
	t.same(
		await run(["migrate"]),
		{
			code: 0,
			signal: null,
			stdout: "the database is up to date\n",
			stderr: "",
		},
		"migrate again is a no-op",
	);
	const status = await run(["migrate", "status"]);
	t.equal(status.code, 0);
	t.ok(appliedStatus(status.stdout), `migrate status: ${status.stdout}`);

	t.same(
		await run(["seed"]),
		{
			code: 0,
			signal: null,
			stdout: "sample users: 3 inserted, 0 already present\n",
			stderr: "",
		},
		"seed inserts the sample users",
	);
	t.same(
		await run(["seed"]),
		{
			code: 0,
			signal: null,
			stdout: "sample users: 0 inserted, 3 already present\n",
			stderr: "",
		},
		"seed is idempotent",
	);
	const count = await run(["seed", "--count", "5"]);
	t.equal(count.code, 0);
	t.match(count.stdout, /^inserted 5 synthetic users in \d+\.\d s\n$/);
	t.equal(count.stderr, "", "no progress drawn when stderr is not a TTY");

	const server = await box.serve(t, env);
	await checkHttp(t, box, server, userList(8));
	await stopAndCheck(t, box, server);
	t.notOk(
		server.logs().some((entry) => String(entry.msg).includes("embedded")),
		"PostgreSQL, not the embedded database",
	);

	for (const result of outputs)
		t.notOk(hasStackTrace(result.stderr), "no stack trace");
	const everything = [
		...outputs.flatMap((result) => [result.stdout, result.stderr]),
		...server.lines,
		server.stderr(),
	].join("\n");
	t.notMatch(everything, /s3cret/, "the password is never printed");
	t.notOk(
		await exists(join(box.dir, ".sherpany")),
		"no embedded data directory when PostgreSQL is configured",
	);
}
