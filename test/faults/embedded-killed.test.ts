/**
 * The embedded database (PGlite) SIGKILLed in the middle of writes,
 * repeatedly: `seed --count` killed at different moments, then `serve`
 * killed under load. The data directory must open cleanly each time with
 * consistent data: synthetic users arrive in whole committed batches, and
 * no email appears twice.
 *
 * Each kill waits for the state it needs, not for the clock: `seed` runs
 * on a pseudo-terminal (script(1)), where it draws how many users it has
 * inserted after each committed batch, and is killed once that count
 * passes a mark; `serve` is killed once its load has been answered.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t, { type Test } from "tap";
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
		const dir = t.testdir({});
		const dataDir = join(dir, "data");
		const env = { SHERPANY_DATA_DIR: dataDir };
		const first = await runCli(["seed"], env);
		t.equal(
			first.code,
			0,
			`seed creates the database and the samples: ${first.stderr}`,
		);
		let base = (await count(dataDir)).rows;

		const total = 500_000;
		for (const mark of [SYNTHETIC_BATCH_SIZE, 5 * SYNTHETIC_BATCH_SIZE]) {
			const seed = startSeedOnTerminal(
				t,
				env,
				total,
				join(dir, `seed-${mark}.pid`),
			);
			const inserted = await seed.insertedAtLeast(mark);
			t.ok(
				inserted >= mark && inserted < total,
				`killed while writing: ${inserted} of ${total} inserted and committed`,
			);
			await seed.kill();
			const { rows, emails } = await count(dataDir);
			t.equal(
				emails,
				rows,
				`killed after ${inserted} users: opens, no email twice (${rows} rows)`,
			);
			t.equal(
				(rows - base) % SYNTHETIC_BATCH_SIZE,
				0,
				"only whole committed batches",
			);
			t.ok(
				rows - base >= inserted && rows - base < total,
				`every batch reported committed is there, and the seed did not finish (${rows - base} new rows)`,
			);
			base = rows;
		}

		const before = await count(dataDir);
		const serve = await startServe(t, env);
		const load = startLoad({
			url: `${serve.baseUrl}/users?limit=5`,
			clients: 4,
		});
		// Killed once the load is being answered: reads in flight.
		for (let waited = 0; waited < 30_000; waited += 20) {
			if (load.samples.filter((sample) => sample.status === 200).length >= 20)
				break;
			await sleep(20);
		}
		t.ok(
			load.samples.filter((sample) => sample.status === 200).length >= 20,
			"serve was answering the load when killed",
		);
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

/** A `seed --count` running on a pseudo-terminal, so that it draws its progress. */
interface SeedOnTerminal {
	/** Resolves with the count drawn once it is at least `mark` (bounded: 120 s). */
	insertedAtLeast(mark: number): Promise<number>;
	/** SIGKILLs the seed process itself (not script) and waits for the exit. */
	kill(): Promise<void>;
}

function startSeedOnTerminal(
	t: Pick<Test, "teardown">,
	env: Record<string, string>,
	total: number,
	pidFile: string,
): SeedOnTerminal {
	// `exec` keeps the shell's pid, so the file names the seed process.
	const child = spawn(
		"script",
		[
			"-qefc",
			`echo $$ > ${pidFile}; exec ${SHERPANY_BIN} seed --count ${total}`,
			"/dev/null",
		],
		{
			env: {
				...coverageEnv(),
				PATH: process.env.PATH ?? "/usr/bin:/bin",
				...env,
			},
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	let output = "";
	child.stdout.on("data", (chunk) => {
		output += chunk;
	});
	const exited = new Promise((resolve) => child.once("exit", resolve));
	t.teardown(() => {
		if (child.exitCode === null && child.signalCode === null)
			child.kill("SIGKILL");
	});
	const drawn = (): number => {
		const counts = [...output.matchAll(/users inserted: \d+% (\d+)\//g)];
		return Number(counts.at(-1)?.[1] ?? 0);
	};
	return {
		async insertedAtLeast(mark) {
			for (let waited = 0; waited < 120_000; waited += 20) {
				if (drawn() >= mark) return drawn();
				if (child.exitCode !== null) break;
				await sleep(20);
			}
			throw new Error(`seed drew no count of ${mark} or more: ${output}`);
		},
		async kill() {
			const pid = Number(await readFile(pidFile, "utf8"));
			process.kill(pid, "SIGKILL");
			await exited;
		},
	};
}
