/**
 * Runs each database suite on every selected PostgreSQL server
 * (test/helpers/postgres-servers.ts) without the suite knowing: the first
 * `startPostgres` of a test file picks the first server for this process and
 * runs the same file again, once per other server, as a subtest of the file
 * (`t.spawn`, with `SHERPANY_TEST_POSTGRES` naming that server). The re-runs
 * inherit tap's coverage hooks, so their coverage counts, and they run after
 * the file's own tests, so a run keeps tap's parallelism (two files at a
 * time on two cores) rather than doubling it.
 *
 * Every process says which server it uses, in a `# PostgreSQL 15.14
 * (system) …` comment, and each re-run is named after its server.
 */
import { relative } from "node:path";
import tap from "tap";
import {
	hasTools,
	type PostgresServer,
	type ServerUser,
	selectServers,
} from "./postgres-servers.ts";
import { findRunId } from "./test-run-cache.ts";

const RERUN_VARIABLE = "SHERPANY_TEST_POSTGRES_RERUN";

let chosen: Promise<PostgresServer> | undefined;

/**
 * True in a test file's re-run on another PostgreSQL server. A suite whose
 * tests do not all use PostgreSQL (the PGlite half of a comparison, say)
 * leaves those out of the re-run: they ran, the same, in the first pass.
 */
export function isPostgresRerun(): boolean {
	return process.env[RERUN_VARIABLE] === "1";
}

/**
 * The server this process starts clusters on; on the first call, also
 * schedules this file's re-run on each other selected server. `tools` are
 * programs the suite needs beside initdb, pg_ctl and postgres (such as
 * `pg_basebackup`): servers without them are left out. With `everyServer`
 * false (on the first call), the file runs on the first server only.
 */
export function chooseServer(
	runAs: ServerUser | undefined,
	tools: readonly string[] = [],
	everyServer = true,
): Promise<PostgresServer> {
	chosen ??= (async () => {
		const [own, ...others] = await selectServers(runAs, tools);
		if (own === undefined) throw new Error("no PostgreSQL server selected");
		tap.comment(`${own.label}: ${own.bindir}`);
		const file = process.argv[1];
		if (file && everyServer)
			for (const other of others)
				tap.spawn(
					process.execPath,
					[...process.execArgv, file],
					{
						env: {
							...process.env,
							SHERPANY_TEST_POSTGRES: other.source,
							[RERUN_VARIABLE]: "1",
							// The re-run shares this run's cache (templates), and its clean-up.
							SHERPANY_TEST_RUN_ID: findRunId(),
						},
					},
					`${relative(process.cwd(), file)} again on ${other.label}`,
				);
		return own;
	})();
	return chosen.then(async (server) => {
		// A later call may need tools that the first one did not ask for.
		if (!(await hasTools(server.bindir, tools)))
			throw new Error(
				`This suite needs ${tools.join(", ")}, which ${server.label} lacks: set SHERPANY_TEST_POSTGRES=system and install a system PostgreSQL`,
			);
		return server;
	});
}
