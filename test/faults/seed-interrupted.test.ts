/**
 * `seed --file` killed in the middle of its import, by SIGINT and by
 * SIGKILL, commits nothing: the import is one transaction, so the table
 * holds exactly what it held before.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { coverageEnv, migrateAndSeed, SHERPANY_BIN } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);
/** Enough rows that the import is still running when the signal comes. */
const ROWS = 200_000;

for (const signal of ["SIGINT", "SIGKILL"] as const) {
	t.test(`seed --file interrupted by ${signal} commits nothing`, async (t) => {
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		const file = join(t.testdir({}), "users.csv");
		const rows = Array.from(
			{ length: ROWS },
			(_, i) => `Person ${i},person-${i}@example.com`,
		);
		await writeFile(file, `name,email\n${rows.join("\n")}\n`);

		const child = spawn(SHERPANY_BIN, ["seed", "--file", file], {
			env: {
				...coverageEnv(),
				PATH: process.env.PATH ?? "/usr/bin:/bin",
				DATABASE_URL: url,
			},
			stdio: "ignore",
		});
		const exited = new Promise<number | string>((resolve) =>
			child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)),
		);
		t.teardown(() => {
			if (child.exitCode === null && child.signalCode === null)
				child.kill("SIGKILL");
		});
		// Wait until its transaction has written rows (bounded: 30 s).
		let writing = false;
		for (let waited = 0; waited < 30_000 && !writing; waited += 50) {
			const active = await pg.query(
				url,
				"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sherpany' AND backend_xid IS NOT NULL",
			);
			writing = Number(active[0]?.n) > 0;
			if (!writing) await sleep(50);
		}
		t.ok(writing, "the import was writing when the signal came");
		child.kill(signal);
		const how = await exited;
		t.not(how, 0, `it did not report success (${how})`);
		// A killed client's backend may need a moment to notice and roll back.
		for (let waited = 0; waited < 10_000; waited += 50) {
			const left = await pg.query(
				url,
				"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sherpany'",
			);
			if (Number(left[0]?.n) === 0) break;
			await sleep(50);
		}
		const count = await pg.query(url, "SELECT count(*)::int AS n FROM users");
		t.equal(count[0]?.n, 3, "only the three sample users: nothing committed");
	});
}
