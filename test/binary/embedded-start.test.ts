/**
 * The built `dist/sherpany` makes a new embedded database by unpacking the
 * data directory it ships (build.mjs), not by PGlite's initdb: every
 * directory it makes has the same PostgreSQL system identifier (two initdbs
 * never do); it comes migrated, and serve seeds it and logs it as migrated,
 * as it does a database initdb made.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import t from "tap";
import { requireFreshBinary, sandbox } from "../helpers/binary.ts";
import {
	checkUsers,
	SAMPLE_USERS,
	stopAndCheck,
} from "../helpers/binary-checks.ts";
import { freePort } from "../helpers/serve.ts";

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

t.test(
	"a new data directory is private whatever the umask: 0700, files 0600",
	async (t) => {
		const box = await sandbox(t);
		// The sandbox's children inherit this process's umask.
		const umask = process.umask(0);
		let migrated: Awaited<ReturnType<typeof box.run>>;
		try {
			migrated = await box.run(["migrate"], { SHERPANY_DATA_DIR: "a/data" });
		} finally {
			process.umask(umask);
		}
		t.equal(migrated.code, 0, "migrate exits 0", migrated);
		const open: string[] = [];
		const root = join(box.dir, "a");
		for (const path of ["", ...(await readdir(root, { recursive: true }))]) {
			const mode = (await stat(join(root, path))).mode & 0o777;
			if (mode & 0o077) open.push(`${mode.toString(8)} ${path}`);
		}
		t.same(open, [], "nothing under a/ (made by sherpany) open to others");
	},
);

t.test(
	"serve on the embedded database listens on 127.0.0.1 unless HOST is set",
	async (t) => {
		const box = await sandbox(t);
		// An empty HOST is unset (the sandbox sets HOST=127.0.0.1 otherwise).
		const served = await box.serve(t, {
			HOST: "",
			ADMIN_PORT: String(await freePort()),
		});
		t.match(
			served.logs().find((line) => line.msg === "listening"),
			{ host: "127.0.0.1", adminHost: "127.0.0.1" },
			"the listening line says where",
		);
		const outside = Object.values(networkInterfaces())
			.flat()
			.find((address) => address?.family === "IPv4" && !address.internal);
		if (outside) {
			await t.rejects(
				fetch(`http://${outside.address}:${served.port}/health`),
				"not reachable on the machine's other address",
			);
		}
		await stopAndCheck(t, box, served);
	},
);
