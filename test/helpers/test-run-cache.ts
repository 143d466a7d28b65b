/**
 * One cache directory per test run, in the system temp dir, for what is
 * costly to make and the same for every test file of a run: the template
 * data directories of test/helpers/postgres.ts, and a copy of the npm
 * PostgreSQL binaries when the server user cannot reach node_modules.
 *
 * A run is one `tap` process: its pid names the directory
 * (`sherpany-test-run-<pid>`), tap's `after` hook (test/after.ts) removes it
 * when the run ends, and a run that could not clean up (killed, or a test
 * file run with plain `node`) is swept by the next one once its pid is gone.
 * So `npm test` leaves nothing in the temp dir.
 */
import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "sherpany-test-run-";
const RUN_ID_VARIABLE = "SHERPANY_TEST_RUN_ID";

/**
 * The pid that names this run's cache. Under tap, a test file's parent is
 * the tap runner; the variable hands that pid down to the processes a test
 * file starts (such as its run on another PostgreSQL), so call this before
 * starting one that may use the cache.
 */
export function findRunId(): string {
	const inherited = process.env[RUN_ID_VARIABLE];
	if (inherited) return inherited;
	const id = String(process.env.TAP_CHILD_ID ? process.ppid : process.pid);
	process.env[RUN_ID_VARIABLE] = id;
	return id;
}

let ready: Promise<string> | undefined;

/** This run's cache directory, made on first use (readable by all, so the server user can use it). */
export function getRunCacheDir(): Promise<string> {
	ready ??= (async () => {
		await sweepFinishedRuns();
		const dir = join(tmpdir(), `${PREFIX}${findRunId()}`);
		await mkdir(dir, { recursive: true });
		// mkdir honours the umask; the server user must traverse it when we are root.
		await chmod(dir, 0o755);
		return dir;
	})();
	return ready;
}

/** Removes the cache of the run whose pid is `runId`. */
export async function removeRunCache(runId: string): Promise<void> {
	await rm(join(tmpdir(), `${PREFIX}${runId}`), {
		recursive: true,
		force: true,
	});
}

/** Removes the caches of runs whose process no longer exists. */
async function sweepFinishedRuns(): Promise<void> {
	const entries = await readdir(tmpdir()).catch(() => [] as string[]);
	for (const entry of entries) {
		if (!entry.startsWith(PREFIX)) continue;
		const pid = Number(entry.slice(PREFIX.length));
		if (Number.isInteger(pid) && pid > 0 && !isAlive(pid))
			await removeRunCache(String(pid)).catch(() => {});
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: alive, but another user's.
		return (error as NodeJS.ErrnoException).code === "EPERM";
	}
}
