import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";
import { lockDataDir } from "../../src/db/data-dir-lock.ts";
import { CommandError } from "../../src/errors.ts";

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
	const lockModule = fileURLToPath(
		new URL("../../src/db/data-dir-lock.ts", import.meta.url),
	);
	const holder = spawn(
		process.execPath,
		[
			"--input-type=module",
			"-e",
			`const { lockDataDir } = await import(${JSON.stringify(lockModule)});
			 await lockDataDir(${JSON.stringify(dir)});
			 console.log("locked");
			 setInterval(() => {}, 1000);`,
		],
		{ stdio: ["ignore", "pipe", "inherit"] },
	);
	await new Promise<void>((resolve) =>
		holder.stdout.once("data", () => resolve()),
	);
	await t.rejects(
		lockDataDir(dir),
		new RegExp(`\\(pid ${holder.pid}\\)`),
		"held by the child",
	);
	holder.kill("SIGKILL");
	await new Promise((resolve) => holder.once("exit", resolve));
	const lock = await lockDataDir(dir);
	t.pass("taken after the holder died");
	await lock.release();
});
