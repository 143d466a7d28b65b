/**
 * The embedded database (PGlite) SIGKILLed in the middle of writes,
 * repeatedly: `seed --count` killed at different moments, then `serve`
 * killed under load. The data directory must open cleanly each time with
 * consistent data: synthetic users arrive in whole committed batches, and
 * no email appears twice.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { SYNTHETIC_BATCH_SIZE } from "../../src/commands/seed.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { coverageEnv, runCli, SHERPANY_BIN } from "../helpers/cli.ts";
import { startLoad } from "../helpers/load.ts";
import { startServe } from "../helpers/serve.ts";

/** Opens the directory in-process and counts: rows, and distinct emails. */
async function count(
	dataDir: string,
): Promise<{ rows: number; emails: number }> {
	const handle = await openDatabase(
		loadDatabaseConfig({ SHERPANY_DATA_DIR: dataDir }),
	);
	try {
		const row = await handle.db
			.selectFrom("users")
			.select((eb) => [
				eb.fn.countAll<number>().as("rows"),
				eb.fn.count<number>("email").distinct().as("emails"),
			])
			.executeTakeFirstOrThrow();
		return { rows: Number(row.rows), emails: Number(row.emails) };
	} finally {
		await handle.close();
	}
}

t.test(
	"SIGKILL during embedded writes leaves a consistent directory",
	async (t) => {
		const dataDir = join(t.testdir({}), "data");
		const env = { SHERPANY_DATA_DIR: dataDir };
		const first = await runCli(["seed"], env);
		t.equal(
			first.code,
			0,
			`seed creates the database and the samples: ${first.stderr}`,
		);
		const base = (await count(dataDir)).rows;

		for (const afterMs of [2500, 4000]) {
			const child = spawn(SHERPANY_BIN, ["seed", "--count", "500000"], {
				env: {
					...coverageEnv(),
					PATH: process.env.PATH ?? "/usr/bin:/bin",
					...env,
				},
				stdio: "ignore",
			});
			const exited = new Promise((resolve) => child.once("exit", resolve));
			await sleep(afterMs);
			child.kill("SIGKILL");
			await exited;
			const { rows, emails } = await count(dataDir);
			t.equal(
				emails,
				rows,
				`killed after ${afterMs} ms: opens, no email twice (${rows} rows)`,
			);
			t.equal(
				(rows - base) % SYNTHETIC_BATCH_SIZE,
				0,
				"only whole committed batches",
			);
		}

		const before = await count(dataDir);
		const serve = await startServe(t, env);
		const load = startLoad({
			url: `${serve.baseUrl}/users?limit=5`,
			clients: 4,
		});
		await sleep(1000);
		serve.child.kill("SIGKILL");
		await serve.exited;
		await load.stop();
		t.same(
			await count(dataDir),
			before,
			"serve killed under load: opens, data as it was",
		);
		const again = await runCli(["seed", "--count", "10"], env);
		t.equal(again.code, 0, "and takes writes again");
		t.equal((await count(dataDir)).rows, before.rows + 10);
	},
);
