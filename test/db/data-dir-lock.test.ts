import {
	type ChildProcess,
	type ChildProcessByStdio,
	spawn,
} from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { LOCK_FILE, lockDataDir } from "../../src/db/data-dir-lock.ts";
import { CommandError } from "../../src/exit-codes.ts";

t.test("one holder at a time; released on release()", async (t) => {
	const dir = t.testdir();
	const lock = await lockDataDir(dir);
	const error = await lockDataDir(dir).catch((caught: unknown) => caught);
	t.type(error, CommandError);
	t.match(
		(error as Error).message,
		new RegExp(
			`^the data directory .* is in use by another sherpany process \\(pid ${process.pid}\\): stop it, or pass --data-dir`,
		),
	);
	await lock.release();
	await lock.release();
	const again = await lockDataDir(dir);
	t.pass("taken again after release");
	await again.release();
});

t.test("the same directory by another path is the same lock", async (t) => {
	const dir = t.testdir({ data: {} });
	const lock = await lockDataDir(`${dir}/data`);
	t.teardown(lock.release);
	await t.rejects(lockDataDir(`${dir}/./data/../data`), CommandError);
});

t.test("a holder killed with SIGKILL leaves no stale lock", async (t) => {
	const dir = t.testdir();
	const holder = await lockInChild(dir);
	await t.rejects(
		lockDataDir(dir),
		new RegExp(`\\(pid ${holder.pid}\\)`),
		"held by the child",
	);
	await kill(holder);
	const lock = await lockDataDir(dir);
	t.pass("taken after the holder died");
	await lock.release();
});

t.test(
	"a holder in other network and mount namespaces, as in another container sharing the volume, holds the directory",
	async (t) => {
		if (!(await canUnshare())) {
			const message =
				"unshare --net --mount needs root (util-linux): the lock across namespaces is untested";
			if (process.env.CI)
				throw new Error(`${message} (CI is set, so this fails)`);
			t.plan(0, message);
			return;
		}
		const dir = t.testdir({ volume: {}, mountpoint: {} });
		const volume = join(dir, "volume");
		const mountpoint = join(dir, "mountpoint");
		// The holder sees the volume at another path (its own mount), and
		// has its own network namespace, so neither the socket's name nor
		// the socket itself is shared: only the directory's files are.
		const holder = await lockInChild(mountpoint, {}, [
			"unshare",
			"--net",
			"--mount",
			"--propagation=private",
			"sh",
			"-c",
			`mount --bind "$1" "$2" && shift 2 && exec "$@"`,
			"sh",
			volume,
			mountpoint,
		]);
		t.teardown(() => kill(holder));
		await t.rejects(
			lockDataDir(volume),
			{
				name: "CommandError",
				message: `the data directory ${volume} is in use by another sherpany process: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
			},
			"refused, without a pid: the holder's socket is in its own namespace",
		);
		await kill(holder);
		const lock = await lockDataDir(volume);
		t.pass("taken once the holder is gone");
		await lock.release();
	},
);

/** Whether this process may make network and mount namespaces (root, util-linux's unshare). */
async function canUnshare(): Promise<boolean> {
	if (process.platform !== "linux") return false;
	const child = spawn("unshare", ["--net", "--mount", "true"], {
		stdio: "ignore",
	});
	return new Promise((resolve) => {
		child.once("error", () => resolve(false));
		child.once("exit", (code) => resolve(code === 0));
	});
}

/** A holder in a child process; resolves once it holds the lock. */
async function lockInChild(
	dir: string,
	options: { abstract?: boolean } = {},
	/** Runs the holder through this command (and its arguments) first. */
	wrapper: readonly string[] = [],
): Promise<ChildProcessByStdio<null, Readable, null>> {
	const lockModule = fileURLToPath(
		new URL("../../src/db/data-dir-lock.ts", import.meta.url),
	);
	const command = [
		process.execPath,
		"--input-type=module",
		"-e",
		`const { lockDataDir } = await import(${JSON.stringify(lockModule)});
		 await lockDataDir(${JSON.stringify(dir)}, ${JSON.stringify(options)});
		 console.log("locked");
		 setInterval(() => {}, 1000);`,
	];
	const [file = "", ...args] = [...wrapper, ...command];
	const holder = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
	await new Promise<void>((resolve, reject) => {
		holder.stdout.once("data", () => resolve());
		holder.once("exit", (code) =>
			reject(new Error(`the holder exited (${code}) before locking`)),
		);
	});
	return holder;
}

async function kill(holder: ChildProcess): Promise<void> {
	if (holder.exitCode !== null || holder.signalCode !== null) return;
	const exited = new Promise((resolve) => holder.once("exit", resolve));
	holder.kill("SIGKILL");
	await exited;
}

/** A directory with a short path, so its socket file fits in sun_path. */
async function shortDir(t: Test): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-lock-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	return dir;
}

t.test("socket-file mode (the default off Linux)", async (t) => {
	const file = { abstract: false };

	t.test(
		"one holder at a time, by a socket file in the directory",
		async (t) => {
			const dir = await shortDir(t);
			const lock = await lockDataDir(dir, file);
			t.ok(
				(await stat(join(dir, ".sherpany.lock"))).isSocket(),
				"a socket file in the directory",
			);
			await t.rejects(
				lockDataDir(dir, file),
				new RegExp(
					`is in use by another sherpany process \\(pid ${process.pid}\\)`,
				),
			);
			await lock.release();
			await lock.release();
			await t.rejects(stat(join(dir, ".sherpany.lock")), { code: "ENOENT" });
			const again = await lockDataDir(dir, file);
			t.pass("taken again after release");
			await again.release();
		},
	);

	t.test(
		"a holder killed with SIGKILL leaves a stale file that the next locker takes over",
		async (t) => {
			const dir = await shortDir(t);
			const holder = await lockInChild(dir, file);
			await t.rejects(
				lockDataDir(dir, file),
				new RegExp(`\\(pid ${holder.pid}\\)`),
				"held by the child",
			);
			await kill(holder);
			t.ok(
				(await stat(join(dir, ".sherpany.lock"))).isSocket(),
				"the socket file outlives its holder",
			);
			const lock = await lockDataDir(dir, file);
			t.pass("taken over");
			await t.rejects(
				lockDataDir(dir, file),
				new RegExp(`\\(pid ${process.pid}\\)`),
				"and held",
			);
			await lock.release();
		},
	);

	t.test("a stale file that is not a socket is taken over too", async (t) => {
		const dir = await shortDir(t);
		await writeFile(join(dir, ".sherpany.lock"), "");
		const lock = await lockDataDir(dir, file);
		t.ok(
			(await stat(join(dir, ".sherpany.lock"))).isSocket(),
			"replaced by the socket",
		);
		await lock.release();
	});

	t.test(
		"a directory whose path is too long for a socket file uses the temp dir",
		async (t) => {
			const dir = join(await shortDir(t), "d".repeat(100));
			await mkdir(dir);
			const lock = await lockDataDir(dir, file);
			t.same(
				await readdir(dir),
				[LOCK_FILE],
				"no socket in the directory, only the lock file",
			);
			await t.rejects(
				lockDataDir(dir, file),
				new RegExp(`\\(pid ${process.pid}\\)`),
			);
			await lock.release();
			const holder = await lockInChild(dir, file);
			await kill(holder);
			const again = await lockDataDir(dir, file);
			t.pass("a stale lock in the temp dir is taken over");
			await again.release();
		},
	);
});
