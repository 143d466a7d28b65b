/**
 * Guard: every test file under test/ is part of `npm test`. tap's default
 * `exclude` silently skips folders named `dist`, `fixture` or `fixtures`
 * (which once hid the whole binary suite), and its `include` only takes
 * `test/**\/*.test.ts`; this compares the files on disk with `tap list`.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import t from "tap";
import { ROOT } from "./helpers/dist.ts";

/** Names that read as a test file, whatever tap's include says. */
const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/;

/** Every file under `dir` whose name looks like a test, relative to ROOT. */
async function findTestFiles(dir: string): Promise<string[]> {
	const found: string[] = [];
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) found.push(...(await findTestFiles(path)));
		else if (TEST_FILE.test(entry.name)) found.push(relative(ROOT, path));
	}
	return found;
}

/** `tap list`: the files a plain `tap` run (so `npm test`) would run. */
function listTapFiles(): Promise<string[]> {
	// Without the TAP_* and coverage variables this run set, which a nested
	// tap would read as its own configuration.
	const env = Object.fromEntries(
		Object.entries(process.env).filter(
			([key]) => !/^(TAP|_TAPJS_|NODE_OPTIONS$|NODE_V8_COVERAGE$)/.test(key),
		),
	);
	return new Promise((resolve, reject) => {
		execFile(
			join(ROOT, "node_modules", ".bin", "tap"),
			["list"],
			{ cwd: ROOT, env },
			(error, stdout, stderr) => {
				if (error)
					reject(new Error(`tap list failed: ${stderr}`, { cause: error }));
				else resolve(stdout.split("\n").filter((line) => line !== ""));
			},
		);
	});
}

t.test("every test file under test/ is run by npm test", async (t) => {
	const [onDisk, listed] = await Promise.all([
		findTestFiles(join(ROOT, "test")),
		listTapFiles(),
	]);
	t.ok(
		listed.includes("test/test-files.test.ts"),
		"tap list names this guard itself, so it is read correctly",
	);
	const missing = onDisk.filter((file) => !listed.includes(file)).sort();
	t.same(
		missing,
		[],
		"test files that npm test would skip: rename or move them (tap excludes folders named dist, fixture or fixtures, and includes only test/**/*.test.ts)",
	);
});
