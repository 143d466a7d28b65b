/**
 * A built executable, alone in a temp dir with an empty environment, on the
 * embedded default database (PGlite in `.sherpany/data` under the working
 * directory): first start, the data-directory lock, the CLI on an existing
 * directory, restart, and SIGKILL. test/binary/embedded.test.ts runs it on
 * dist/sherpany, test/arm64/binary-embedded.test.ts on
 * dist/sherpany-linux-arm64 under qemu.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Test } from "tap";
import { describeEmbeddedFallback } from "../../src/config/embedded-state.ts";
import { type BinaryTarget, exists, sandbox } from "../helpers/binary.ts";
import {
	appliedStatus,
	checkHttp,
	checkUsers,
	SAMPLE_USERS,
	stopAndCheck,
} from "../helpers/binary-checks.ts";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { freePort } from "../helpers/serve.ts";

const EMBEDDED_NOTICE = `sherpany: ${describeEmbeddedFallback("embedded PGlite database in .sherpany/data")}\n`;

/** Options of {@link binaryEmbeddedSuite}. */
export interface EmbeddedSuiteOptions {
	/** Also run migrate status, migrate and seed on the stopped directory. */
	readonly everyCommand: boolean;
}

/** Runs the suite on `target`. */
export async function binaryEmbeddedSuite(
	t: Test,
	target: BinaryTarget,
	options: EmbeddedSuiteOptions = { everyCommand: true },
): Promise<void> {
	const box = await sandbox(t, target);
	const dataDir = join(box.dir, ".sherpany", "data");
	const inUse = (pid: number): string =>
		`sherpany: the data directory ${dataDir} is in use by another sherpany process (pid ${pid}): stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory\n`;

	// 1. First start on a new data directory: migrated, sample users inserted.
	const first = await box.serve(t);
	t.ok(await exists(join(dataDir, "PG_VERSION")), "made .sherpany/data");
	t.match(
		first.logs(),
		[
			{
				msg: describeEmbeddedFallback(),
				database: "embedded PGlite database in .sherpany/data",
			},
			{ msg: "migrated the embedded database", applied: ["0001_create_users"] },
			{
				msg: "seeded the new embedded database with the sample users",
				inserted: 3,
			},
			{ msg: "listening", port: first.port },
		],
		"start-up log lines",
	);
	await checkHttp(t, box, first, SAMPLE_USERS);

	// 2. While it holds the directory, every other database command exits 1.
	const secondPort = await freePort();
	t.same(
		await box.run(["serve"], {
			PORT: String(secondPort),
			HOST: "127.0.0.1",
		}),
		{ code: 1, signal: null, stdout: "", stderr: inUse(first.pid) },
		"a second serve exits 1 and names the holder",
	);
	t.same(
		await box.run(["seed"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(first.pid),
		},
		"seed exits 1 and names the holder",
	);
	t.same(
		await box.run(["migrate"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(first.pid),
		},
		"migrate exits 1 and names the holder",
	);
	t.equal(
		(await checkedFetch(`${first.baseUrl}/users`)).status,
		200,
		"the holder is unharmed",
	);
	await stopAndCheck(t, box, first);

	// 3. Stopped: the CLI opens the existing directory (each command
	// starts PGlite, seconds under emulation: there, seed --count alone).
	if (options.everyCommand) {
		const status = await box.run(["migrate", "status"]);
		t.equal(status.code, 0, "migrate status exits 0");
		t.ok(appliedStatus(status.stdout), `migrate status: ${status.stdout}`);
		t.equal(status.stderr, EMBEDDED_NOTICE, "one notice line on stderr");
		t.same(
			await box.run(["migrate"]),
			{
				code: 0,
				signal: null,
				stdout: "the database is up to date\n",
				stderr: EMBEDDED_NOTICE,
			},
			"migrate: already up to date",
		);
		t.same(
			await box.run(["seed"]),
			{
				code: 0,
				signal: null,
				stdout: "sample users: 0 inserted, 3 already present\n",
				stderr: EMBEDDED_NOTICE,
			},
			"seed: the sample users are already there",
		);
	}
	const count = await box.run(["seed", "--count", "5"]);
	t.equal(count.code, 0, "seed --count 5 exits 0");
	t.match(count.stdout, /^inserted 5 synthetic users in \d+\.\d s\n$/);
	t.equal(count.stderr, EMBEDDED_NOTICE);

	// 4. Restart: the data survived, and an existing database is not re-seeded.
	const second = await box.serve(t);
	await checkUsers(t, second, 8, "the users survived the restart");
	t.notOk(
		second
			.logs()
			.some((entry) => /^(seeded|migrated) /.test(String(entry.msg))),
		"an existing database is neither migrated nor seeded again",
	);

	// 5. SIGKILL leaves no stale lock and no damage.
	second.child.kill("SIGKILL");
	t.equal(await second.exited, "SIGKILL");
	const third = await box.serve(t);
	await checkUsers(
		t,
		third,
		8,
		"after SIGKILL a new process opens the directory and the data is intact",
	);
	t.same(
		await box.run(["seed"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(third.pid),
		},
		"the new holder holds the lock",
	);
	await stopAndCheck(t, box, third);
	t.equal(second.stderr(), "", "nothing on stderr before the SIGKILL");
	t.same(
		(await readdir(box.dir)).sort(),
		[".sherpany", "sherpany"],
		"the data directory is the only thing made beside the binary",
	);
}
