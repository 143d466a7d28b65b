/**
 * Least privilege with deploy/kubernetes/components/postgres/roles.sql (the
 * one copy of the roles' SQL): `migrate` and `seed` run as
 * sherpany_migrate (the schema's owner), `serve` as sherpany_serve, which
 * can read `users` and the migration table (so `/users` and `/ready` work)
 * and can change nothing: INSERT, UPDATE, DELETE and CREATE are refused.
 *
 * The same with the cloudnativepg component's serve-role.sql, run as the
 * operator runs it (as the superuser, in database `app`, owned by `app`,
 * before anything is migrated): `migrate` and `seed` as `app`, `serve` as
 * sherpany_serve.
 */
import { readFile } from "node:fs/promises";
import { Client } from "pg";
import t, { type Test } from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { migrateAndSeed, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startServe } from "../helpers/serve.ts";

const ROLES_SQL = new URL(
	"../../deploy/kubernetes/components/postgres/roles.sql",
	import.meta.url,
);

const CNPG_SERVE_ROLE_SQL = new URL(
	"../../deploy/kubernetes/components/cloudnativepg/serve-role.sql",
	import.meta.url,
);

const pg = await startPostgres(t);

/** The same database URL, as another role (trust auth: no password). */
const as = (url: string, role: string): string =>
	url.replace("postgres@", `${role}@`);

t.test("serve runs as the read-only role; migrate as the owner", async (t) => {
	const url = await pg.createDatabase();
	const sql = await readFile(ROLES_SQL, "utf8");
	await pg.query(url, sql);
	// Run twice: the script is idempotent.
	await pg.query(url, sql);

	const owner = as(url, "sherpany_migrate");
	await migrateAndSeed(t, owner);
	const tables = await pg.query(
		url,
		"SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
	);
	t.ok(
		tables.length > 0 &&
			tables.every((row) => row.tableowner === "sherpany_migrate"),
		`the owner owns every table (${tables.map((row) => row.tablename).join(", ")})`,
	);

	await checkReadOnly(t, url, as(url, "sherpany_serve"));
});

t.test(
	"cloudnativepg: serve runs as the read-only role; migrate as the owner app",
	async (t) => {
		const url = await pg.createDatabase();
		const database = new URL(url).pathname.slice(1);
		// What the operator's initdb makes: the owner, owning the database.
		await pg.query(url, "CREATE ROLE app LOGIN");
		await pg.query(url, `ALTER DATABASE "${database}" OWNER TO app`);
		const sql = await readFile(CNPG_SERVE_ROLE_SQL, "utf8");
		// One string, as the operator sends it; twice, as a run by hand may.
		await pg.query(url, sql);
		await pg.query(url, sql);

		const owner = as(url, "app");
		await migrateAndSeed(t, owner);
		const tables = await pg.query(
			url,
			"SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
		);
		t.ok(
			tables.length > 0 && tables.every((row) => row.tableowner === "app"),
			`the owner owns every table (${tables.map((row) => row.tablename).join(", ")})`,
		);
		await checkReadOnly(t, url, as(url, "sherpany_serve"));
	},
);

/** serve works as `reader` (/users, /ready), and `reader` can change nothing. */
async function checkReadOnly(
	t: Test,
	url: string,
	reader: string,
): Promise<void> {
	const serve = await startServe(t, { DATABASE_URL: reader });
	const users = await checkedFetch(`${serve.baseUrl}/users`);
	t.equal(users.status, 200, "/users works as sherpany_serve");
	t.equal(
		((await users.json()) as unknown[]).length,
		3,
		"with the three users",
	);
	const ready = await checkedFetch(`${serve.baseUrl}/ready`);
	t.equal(
		ready.status,
		200,
		`/ready works as sherpany_serve: ${await ready.text()}`,
	);
	serve.child.kill("SIGTERM");
	t.equal(await serve.exited, 0, "serve exits 0");

	const client = new Client({ connectionString: reader });
	await client.connect();
	t.teardown(() => client.end());
	for (const statement of [
		"INSERT INTO users (name, email) VALUES ('Mallory', 'mallory@example.com')",
		"UPDATE users SET name = 'x'",
		"DELETE FROM users",
		"CREATE TABLE intruder (id int)",
		"DELETE FROM kysely_migration",
	]) {
		await t.rejects(
			client.query(statement),
			{ code: "42501" },
			`refused as sherpany_serve: ${statement.split(" (")[0]}`,
		);
	}
	const count = await pg.query(url, "SELECT count(*)::int AS n FROM users");
	t.equal(count[0]?.n, 3, "the table is unchanged");

	const seedAsReader = await runCli(["seed", "--count", "5"], {
		DATABASE_URL: reader,
	});
	t.not(seedAsReader.code, 0, "seed as sherpany_serve fails");
	t.match(seedAsReader.stderr, /permission denied/, "saying why");
}
