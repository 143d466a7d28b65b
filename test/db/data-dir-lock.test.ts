import {
	type ChildProcess,
	type ChildProcessByStdio,
	spawn,
} from "node:child_process";
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import t from "tap";
import {
	LOCK_FILE,
	lockDataDir,
	PID_FILE,
} from "../../src/db/data-dir-lock.ts";
import { tryLockFile } from "../../src/db/file-lock.ts";
import { CommandError } from "../../src/exit-codes.ts";
import { otherNamespacesArgs } from "../helpers/other-namespaces.ts";

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
	const pidFile = await stat(join(dir, PID_FILE));
	t.equal(pidFile.mode & 0o777, 0o600, "the pid file is the user's alone");
	await lock.release();
	await lock.release();
	t.same(await readdir(dir), [LOCK_FILE], "the pid file is removed");
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
	"a holder in other network, mount and UTS namespaces, as in another container sharing the volume, holds the directory",
	async (t) => {
		if (!(await canUnshare())) {
			const message =
				"unshare --net --mount --uts needs root (util-linux): the lock across namespaces is untested";
			if (process.env.CI)
				throw new Error(`${message} (CI is set, so this fails)`);
			t.plan(0, message);
			return;
		}
		const dir = t.testdir({ volume: {}, mountpoint: {} });
		const volume = join(dir, "volume");
		const mountpoint = join(dir, "mountpoint");
		// The holder sees the volume at another path (its own mount), and
		// has its own network namespace and host name: only the directory's
		// files are shared.
		const holder = await lockInChild(mountpoint, [
			"unshare",
			...otherNamespacesArgs(volume, mountpoint),
		]);
		t.teardown(() => kill(holder));
		await t.rejects(
			lockDataDir(volume),
			{
				name: "CommandError",
				message: `the data directory ${volume} is in use by another sherpany process (pid ${holder.pid} on host sherpany-other): stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
			},
			"refused, naming the holder and its host",
		);
		await kill(holder);
		const lock = await lockDataDir(volume);
		t.pass("taken once the holder is gone");
		await lock.release();
	},
);

t.test(
	"a socket bound first under the name earlier versions locked by does not keep sherpany out",
	{ skip: process.platform !== "linux" && "abstract sockets are Linux's" },
	async (t) => {
		const dir = t.testdir();
		// Earlier versions also bound this abstract socket, named after the
		// directory's real path, and refused while it was taken. An abstract
		// name has no owner or mode: any local user can bind it.
		const hash = createHash("sha256")
			.update(realpathSync(dir))
			.digest("hex")
			.slice(0, 32);
		const squatter = createServer((socket) => socket.end("1\n"));
		await new Promise<void>((resolve, reject) => {
			squatter.once("error", reject);
			squatter.listen(`\0sherpany-data-dir-${hash}`, resolve);
		});
		t.teardown(() => squatter.close());
		const lock = await lockDataDir(dir);
		t.pass("taken");
		await lock.release();
	},
);

t.test("a pid file left by a killed holder", async (t) => {
	const dir = t.testdir();
	const dead = await deadPid();
	const stale = `${JSON.stringify({ pid: dead, host: hostname() })}\n`;
	await writeFile(join(dir, PID_FILE), stale, { mode: 0o600 });
	// Held, but the new holder has not written its pid yet.
	const held = tryLockFile(join(dir, LOCK_FILE));
	t.ok(held, "held by the file lock alone");
	await t.rejects(
		lockDataDir(dir),
		{
			message: `the data directory ${dir} is in use by another sherpany process: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
		},
		"refused without naming the dead pid",
	);
	held?.release();
	const lock = await lockDataDir(dir);
	t.pass("does not keep the next locker out");
	await t.rejects(
		lockDataDir(dir),
		new RegExp(`\\(pid ${process.pid}\\)`),
		"which replaces it",
	);
	await lock.release();
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
	const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
	await new Promise((resolve) => child.once("exit", resolve));
	if (child.pid === undefined) throw new Error("no pid");
	return child.pid;
}

/** Whether this process may make network and mount namespaces (root, util-linux's unshare). */
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

/** A holder in a child process; resolves once it holds the lock. */
async function lockInChild(
	dir: string,
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
		 await lockDataDir(${JSON.stringify(dir)});
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

t.test(
	"a lock file that is not SQLite's is an error, not a held lock",
	async (t) => {
		const dir = t.testdir({ "lock.db": "not a database\n".repeat(200) });
		t.throws(() => tryLockFile(join(dir, "lock.db")), {
			code: "ERR_SQLITE_ERROR",
			errcode: 26,
		});
		const free = tryLockFile(join(dir, "free.db"));
		t.ok(free, "a new file is locked");
		t.equal(tryLockFile(join(dir, "free.db")), undefined, "and held");
		free?.release();
		free?.release();
		const again = tryLockFile(join(dir, "free.db"));
		t.ok(again, "released once, however often release() is called");
		again?.release();
	},
);
