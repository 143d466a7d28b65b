/**
 * The embedded database's data directory is private to its owner: made
 * 0700 with files 0600 whatever the umask (from source, where PGlite's
 * initdb makes it, and from the shipped tarball), and refused, with the
 * command that fixes it, when it holds a database others can open.
 */
import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { requirePrivateDataDir } from "../../src/db/data-dir-mode.ts";
import { extractDataDir } from "../../src/db/data-dir-tarball.ts";
import { EXIT_USAGE } from "../../src/exit-codes.ts";
import { coverageEnv, runCommand, SHERPANY_BIN } from "../helpers/cli.ts";

/** `bin/sherpany args` in `cwd` under `umask`, with no database configured. */
function sherpanyUnder(umask: string, cwd: string, args: readonly string[]) {
	return runCommand(
		"/bin/sh",
		["-c", `umask ${umask} && exec "$0" "$@"`, SHERPANY_BIN, ...args],
		{ ...coverageEnv(), PATH: process.env.PATH ?? "/usr/bin:/bin" },
		cwd,
	);
}

/** Every path under `dir` (itself included) whose mode lets the group or others in, with its mode. */
async function openToOthers(dir: string): Promise<string[]> {
	const paths = [
		dir,
		...(await readdir(dir, { recursive: true })).map((path) => join(dir, path)),
	];
	const open: string[] = [];
	for (const path of paths) {
		const mode = (await stat(path)).mode & 0o777;
		if (mode & 0o077) open.push(`${mode.toString(8)} ${path}`);
	}
	return open;
}

async function modeOf(path: string): Promise<string> {
	return ((await stat(path)).mode & 0o777).toString(8);
}

for (const umask of ["000", "022"]) {
	t.test(
		`a new database from initdb is private under umask ${umask}`,
		async (t) => {
			const dir = t.testdir();
			const dataDir = join(dir, ".sherpany", "data");
			const migrated = await sherpanyUnder(umask, dir, ["migrate"]);
			t.equal(migrated.code, 0, "migrate exits 0", migrated);
			// seed opens it again: PostgreSQL writes files at start too.
			const seeded = await sherpanyUnder(umask, dir, ["seed"]);
			t.equal(seeded.code, 0, "seed exits 0", seeded);
			t.equal(await modeOf(join(dir, ".sherpany")), "700", ".sherpany 0700");
			t.equal(await modeOf(dataDir), "700", "the data directory 0700");
			t.equal(
				await modeOf(join(dataDir, "pg_hba.conf")),
				"600",
				"pg_hba.conf 0600",
			);
			t.same(await openToOthers(dataDir), [], "nothing open to others");
		},
	);
}

t.test(
	"a database others can open is refused, saying how to fix it",
	async (t) => {
		const dir = t.testdir();
		const dataDir = join(dir, ".sherpany", "data");
		t.equal((await sherpanyUnder("022", dir, ["migrate"])).code, 0);
		// As sherpany made it before it made data directories private.
		await chmod(dataDir, 0o755);
		const refused = await sherpanyUnder("022", dir, ["migrate"]);
		t.same(
			{ code: refused.code, stdout: refused.stdout },
			{ code: EXIT_USAGE, stdout: "" },
			"exits 2",
		);
		t.match(
			refused.stderr,
			`sherpany: the data directory ${dataDir} holds a database that other users can read or write (mode 0755): a data directory must be private to its owner, as PostgreSQL requires; run chmod -R go-rwx ${dataDir} (earlier sherpany versions made data directories open to others)\n`,
		);
		t.equal(await modeOf(dataDir), "755", "left as it was");
		await chmod(dataDir, 0o750);
		t.equal(
			(await sherpanyUnder("022", dir, ["migrate"])).code,
			EXIT_USAGE,
			"group access is refused too",
		);
		await chmod(dataDir, 0o700);
		t.equal(
			(await sherpanyUnder("022", dir, ["migrate"])).code,
			0,
			"opened once private",
		);
	},
);

t.test(
	"a directory without a database yet (an empty volume) is made private",
	async (t) => {
		const dir = join(t.testdir(), "volume");
		await mkdir(dir);
		await chmod(dir, 0o777);
		requirePrivateDataDir(dir);
		t.equal(await modeOf(dir), "700");
	},
);

/** One ustar entry with `mode` (checksum left blank: the reader does not check it). */
function tarEntry(path: string, flag: "0" | "5", mode: number): Uint8Array {
	const header = new Uint8Array(512);
	const put = (text: string, at: number) =>
		header.set(new TextEncoder().encode(text), at);
	put(path, 0);
	put(`${mode.toString(8).padStart(7, "0")}\0`, 100);
	put(`${"0".repeat(11)}\0`, 124);
	put(flag, 156);
	put("ustar\0", 257);
	return header;
}

t.test(
	"the shipped data directory unpacks private whatever the archive's modes and the umask",
	async (t) => {
		const dataDir = join(t.testdir(), "data");
		const archive = new Uint8Array([
			...tarEntry("base", "5", 0o755),
			...tarEntry("base/1", "5", 0o750),
			...tarEntry("base/1/1259", "0", 0o666),
			...tarEntry("PG_VERSION", "0", 0o644),
			...new Uint8Array(1024),
		]);
		const umask = process.umask(0);
		try {
			extractDataDir(archive, dataDir);
		} finally {
			process.umask(umask);
		}
		t.same(
			Object.fromEntries(
				await Promise.all(
					["", "base", "base/1", "base/1/1259", "PG_VERSION"].map(
						async (path) => [path, await modeOf(join(dataDir, path))],
					),
				),
			),
			{
				"": "700",
				base: "700",
				"base/1": "700",
				"base/1/1259": "600",
				PG_VERSION: "600",
			},
		);
	},
);
