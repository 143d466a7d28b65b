/**
 * The built `dist/sherpany` makes a new embedded database by unpacking the
 * data directory it ships (build.mjs), not by PGlite's initdb: every
 * directory it makes has the same PostgreSQL system identifier (two initdbs
 * never do); it comes migrated, and serve seeds it and logs it as migrated,
 * as it does a database initdb made.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { requireFreshBinary, sandbox } from "../helpers/binary.ts";
import {
	checkUsers,
	SAMPLE_USERS,
	stopAndCheck,
} from "../helpers/binary-checks.ts";

await requireFreshBinary();

/** pg_control begins with the cluster's 64-bit system identifier. */
async function systemId(dataDir: string): Promise<string> {
	const control = await readFile(join(dataDir, "global", "pg_control"));
	return control.subarray(0, 8).toString("hex");
}

t.test("new data directories come from the shipped one", async (t) => {
	const box = await sandbox(t);
	const served = await box.serve(t, { SHERPANY_DATA_DIR: "served" });
	t.match(
		served.logs(),
		[
			{ msg: /^no database configured/ },
			{ msg: "migrated the embedded database", applied: ["0001_create_users"] },
			{
				msg: "seeded the new embedded database with the sample users",
				inserted: 3,
			},
			{ msg: "listening" },
		],
		"a first start logs as it always did",
	);
	await checkUsers(t, served, SAMPLE_USERS.length, "the sample users");
	await stopAndCheck(t, box, served);

	const migrated = await box.run(["migrate"], {
		SHERPANY_DATA_DIR: "migrated",
	});
	t.equal(migrated.code, 0, "migrate on a new directory exits 0");
	t.equal(
		migrated.stdout,
		"the database is up to date\n",
		"the shipped directory comes migrated",
	);

	const served1 = join(box.dir, "served");
	const migrated1 = join(box.dir, "migrated");
	t.equal(
		await systemId(served1),
		await systemId(migrated1),
		"one system identifier: both unpacked from the same directory",
	);
	t.notOk(
		(await readdir(served1)).includes("postmaster.pid"),
		"no lock file is left in a stopped directory",
	);
});
