/**
 * Two sherpany processes on one embedded data directory from separate
 * network, mount and UTS namespaces, as two containers sharing a volume are:
 * the built `dist/sherpany serve` holds the directory from its own
 * namespaces (the volume bind-mounted at another path), and a second
 * process outside them gets the "in use" error, not a corrupted database.
 * Needs root and util-linux's unshare (CI runs as root).
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { describeEmbeddedFallback } from "../../src/config/embedded-state.ts";
import { requireFreshBinary, sandbox } from "../helpers/binary.ts";
import { otherNamespacesArgs } from "../helpers/other-namespaces.ts";
import { freePort, watchUntilListening } from "../helpers/serve.ts";

await requireFreshBinary();

/** Whether this process may make network and mount namespaces. */
async function canUnshare(): Promise<boolean> {
	if (process.platform !== "linux") return false;
	const child = spawn("unshare", ["--net", "--mount", "--uts", "true"], {
		stdio: "ignore",
	});
	return new Promise((resolve) => {
		child.once("error", () => resolve(false));
		child.once("exit", (code) => resolve(code === 0));
	});
}

if (!(await canUnshare())) {
	const message =
		"unshare --net --mount --uts needs root (util-linux): the lock across namespaces is untested";
	if (process.env.CI) throw new Error(`${message} (CI is set, so this fails)`);
	t.plan(0, message);
} else {
	t.test(
		"a serve in other namespaces holds the shared directory",
		async (t) => {
			const box = await sandbox(t);
			const volume = join(box.dir, "volume");
			const mountpoint = join(box.dir, "mountpoint");
			await mkdir(volume);
			await mkdir(mountpoint);
			const holder = spawn(
				"unshare",
				[
					...otherNamespacesArgs(volume, mountpoint),
					"/usr/bin/env",
					"-i",
					"PATH=/usr/bin:/bin",
					`SHERPANY_DATA_DIR=${join(mountpoint, "data")}`,
					`PORT=${await freePort()}`,
					box.binary,
					"serve",
				],
				{ cwd: box.dir, stdio: ["ignore", "pipe", "pipe"] },
			);
			const served = await watchUntilListening(t, holder);

			const dataDir = join(volume, "data");
			t.same(
				await box.run(["migrate"], { SHERPANY_DATA_DIR: dataDir }),
				{
					code: 1,
					signal: null,
					stdout: "",
					stderr: `sherpany: ${describeEmbeddedFallback(`embedded PGlite database in ${dataDir}`)}\nsherpany: the data directory ${dataDir} is in use by another sherpany process (pid ${holder.pid} on host sherpany-other): stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory\n`,
				},
				"the second process is refused, naming the holder and its host",
			);

			holder.kill("SIGTERM");
			t.equal(await served.exited, 0, "the holder stops cleanly");
			const after = await box.run(["migrate"], { SHERPANY_DATA_DIR: dataDir });
			t.same(
				{ code: after.code, stdout: after.stdout },
				{ code: 0, stdout: "the database is up to date\n" },
				"then the directory opens, intact and migrated",
			);
		},
	);
}
