// A throwaway PostgreSQL for the bench, started by the test harness's own
// helper (test/helpers/postgres.ts), so it finds a server the same way the
// tests do: system PostgreSQL, else PostgreSQL 18 from npm.
import { existsSync } from "node:fs";

// One server only: with several, the harness re-runs the calling file under
// tap once per server, which a bench must not do.
process.env.SHERPANY_TEST_POSTGRES ??= existsSync("/usr/lib/postgresql")
	? "system"
	: "npm";
// The helper imports tap, whose root test would end the bench after 30 s.
process.env.TAP_TIMEOUT = "0";
const { startPostgres } = await import("../../test/helpers/postgres.ts");

/** Starts a cluster; `stop()` stops it and removes its files. */
export async function startBenchPostgres() {
	const teardowns = [];
	const cluster = await startPostgres({ teardown: (fn) => teardowns.push(fn) });
	return {
		cluster,
		async stop() {
			for (const fn of teardowns.reverse()) await fn();
		},
	};
}
