import { spawnSync } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { findRunId, getRunCacheDir, removeRunCache } from "./test-run-cache.ts";

async function exists(path: string): Promise<boolean> {
	return stat(path).then(
		() => true,
		() => false,
	);
}

t.test("a finished run's cache is swept; this run's is made", async (t) => {
	// The pid of a process that has exited: nothing runs under it now.
	const gone = spawnSync("true").pid;
	const stale = join(tmpdir(), `sherpany-test-run-${gone}`);
	await mkdir(join(stale, "template-x"), { recursive: true });

	// This file starts no cluster, so this is its first call: it sweeps.
	const dir = await getRunCacheDir();
	t.equal(dir, join(tmpdir(), `sherpany-test-run-${findRunId()}`));
	t.equal(
		findRunId(),
		String(process.env.TAP_CHILD_ID ? process.ppid : process.pid),
		"under tap, the runner's pid names the run",
	);
	t.equal(
		(await stat(dir)).mode & 0o777,
		0o755,
		"the server user can enter it",
	);
	t.notOk(
		await exists(stale),
		"the cache of a run whose pid is gone is removed",
	);
});

t.test("removeRunCache removes a run's directory", async (t) => {
	const id = `${process.pid}-removed`;
	const dir = join(tmpdir(), `sherpany-test-run-${id}`);
	await mkdir(join(dir, "npm-postgres"), { recursive: true });
	await removeRunCache(id);
	t.notOk(await exists(dir));
});
