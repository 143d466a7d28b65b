/**
 * A new embedded database from a shipped data directory (the migrated
 * tarball build.mjs makes), on disk and in memory, the initdb fallback when there is
 * none, and the tar reader's refusals. From source, so the tarball is made
 * here by the same code the build runs.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import t from "tap";
import type { EmbeddedConfig } from "../../src/config/database.ts";
import { extractDataDir, readTar } from "../../src/db/data-dir-tarball.ts";
import { openEmbedded } from "../../src/db/embedded.ts";
import { makeDataDirTarball } from "../../src/db/make-data-dir-tarball.ts";
import { createMigrator } from "../../src/db/migrator.ts";
import { prepareEmbeddedDatabase } from "../../src/db/prepare-embedded.ts";

const tarball = await makeDataDirTarball();

/** Opens `config` with `shipped` as the shipped data directory, prepares it as serve does, and says what happened. */
async function startLikeServe(
	config: EmbeddedConfig,
	shipped: Uint8Array | undefined,
): Promise<{
	applied: readonly string[];
	seeded?: number;
	asked: number;
	users: number;
}> {
	let asked = 0;
	const handle = await openEmbedded(config, {}, () => {
		asked++;
		return shipped;
	});
	try {
		const prepared = await prepareEmbeddedDatabase(
			handle.db,
			createMigrator(handle.db),
			{ seedWhenNew: true, created: handle.created },
		);
		const users = await handle.db.selectFrom("users").select("id").execute();
		return {
			applied: prepared.applied,
			...(prepared.sampleUsersInserted === undefined
				? {}
				: { seeded: prepared.sampleUsersInserted }),
			asked,
			users: users.length,
		};
	} finally {
		await handle.close();
	}
}

t.test(
	"the tarball holds a new data directory and nothing running",
	async (t) => {
		const paths = [...readTar(tarball)].map((entry) => entry.path);
		t.ok(paths.includes("PG_VERSION"), "PG_VERSION");
		t.ok(paths.includes("global/pg_control"), "pg_control");
		t.same(
			[...new Set(paths.filter((path) => /^base\/\d+$/.test(path)))],
			["base/5"],
			"one database, PGlite's: no templates",
		);
		t.notOk(
			paths.some((path) => path.startsWith("/") || path.includes("..")),
			"paths are relative",
		);
	},
);

t.test("a new data directory is unpacked from the tarball", async (t) => {
	const dataDir = join(t.testdir(), "data");
	const first = await startLikeServe({ kind: "embedded", dataDir }, tarball);
	t.same(
		first,
		{ applied: ["0001_create_users"], seeded: 3, asked: 1, users: 3 },
		"migrated and seeded like a database initdb made",
	);
	const files = await readdir(dataDir);
	t.ok(files.includes("PG_VERSION"), "PG_VERSION written");
	t.notOk(files.includes("postmaster.pid"), "no lock file left behind");
	const again = await startLikeServe({ kind: "embedded", dataDir }, tarball);
	t.same(
		again,
		{ applied: [], asked: 0, users: 3 },
		"an existing directory is opened: not unpacked, migrated or seeded again",
	);
});

t.test("an unpacking cut short (no PG_VERSION) is redone", async (t) => {
	const dataDir = join(t.testdir(), "data");
	extractDataDir(tarball, dataDir);
	await rm(join(dataDir, "PG_VERSION"));
	// Half-written files from the interrupted run must be overwritten.
	await writeFile(join(dataDir, "global", "pg_control"), "garbage");
	const started = await startLikeServe({ kind: "embedded", dataDir }, tarball);
	t.same(started, {
		applied: ["0001_create_users"],
		seeded: 3,
		asked: 1,
		users: 3,
	});
});

t.test("in memory, PGlite loads the tarball", async (t) => {
	const started = await startLikeServe(
		{ kind: "embedded", dataDir: "memory://" },
		tarball,
	);
	t.same(started, {
		applied: ["0001_create_users"],
		seeded: 3,
		asked: 1,
		users: 3,
	});
});

t.test("the embedded PostgreSQL keeps a small buffer pool", async (t) => {
	// PostgreSQL's default 128MB is resident from the start in PGlite's
	// memory; an existing directory's process measured 313 MiB with it.
	const handle = await openEmbedded(
		{ kind: "embedded", dataDir: "memory://" },
		{},
		() => tarball,
	);
	try {
		const { rows } = await sql<{
			shared_buffers: string;
		}>`show shared_buffers`.execute(handle.db);
		t.same(rows, [{ shared_buffers: "16MB" }]);
	} finally {
		await handle.close();
	}
});

t.test("without a tarball (from source, Deno) initdb makes it", async (t) => {
	const root = t.testdir();
	const dataDir = join(root, "data");
	const started = await startLikeServe(
		{ kind: "embedded", dataDir },
		undefined,
	);
	t.same(started, {
		applied: ["0001_create_users"],
		seeded: 3,
		asked: 1,
		users: 3,
	});
	t.ok(existsSync(join(dataDir, "PG_VERSION")));
	// Two initdbs never share a system identifier; two unpackings do. That
	// tells which way a data directory was made (test/binary checks it).
	const unpacked = join(root, "unpacked");
	extractDataDir(tarball, unpacked);
	const systemId = async (dir: string): Promise<string> =>
		(await readFile(join(dir, "global", "pg_control")))
			.subarray(0, 8)
			.toString("hex");
	t.not(await systemId(dataDir), await systemId(unpacked));
});

/** One ustar header block (checksum left blank: the reader does not check it) and its data. */
function tarEntry(path: string, flag: string, data = ""): Uint8Array {
	const header = new Uint8Array(512);
	const put = (text: string, at: number) =>
		header.set(new TextEncoder().encode(text), at);
	put(path, 0);
	put("0000644\0", 100);
	put(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
	put(flag, 156);
	put("ustar\0", 257);
	const body = new Uint8Array(Math.ceil(data.length / 512) * 512);
	body.set(new TextEncoder().encode(data));
	return new Uint8Array([...header, ...body]);
}

t.test("the tar reader refuses what PGlite never writes", async (t) => {
	const end = new Uint8Array(1024);
	const archive = (...entries: Uint8Array[]) =>
		new Uint8Array(entries.flatMap((entry) => [...entry]).concat([...end]));
	t.throws(
		() => [...readTar(archive(tarEntry("../etc/passwd", "0", "x")))],
		/leaves the data directory/,
	);
	t.throws(
		() => [...readTar(archive(tarEntry("link", "2")))],
		/tar entry link has type "2"/,
	);
	t.throws(
		() => [...readTar(tarEntry("big", "0", "x".repeat(600)).subarray(0, 700))],
		/ends inside big/,
	);
	const dir = t.testdir();
	t.throws(
		() => extractDataDir(archive(tarEntry("base/1/1", "0", "x")), dir),
		/has no PG_VERSION/,
	);
	extractDataDir(
		archive(
			tarEntry("PG_VERSION", "0", "17\n"),
			tarEntry("base", "5"),
			tarEntry("/base/1/1", "0", "page"),
			tarEntry("postmaster.pid", "0", "1"),
		),
		dir,
	);
	t.equal(await readFile(join(dir, "base", "1", "1"), "utf8"), "page");
	t.equal(await readFile(join(dir, "PG_VERSION"), "utf8"), "17\n");
	t.notOk(existsSync(join(dir, "postmaster.pid")), "the lock file is skipped");
});
