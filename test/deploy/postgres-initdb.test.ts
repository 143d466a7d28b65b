/**
 * The postgres component's first-start scripts on their own (roles.sql, then
 * logins.sql, from the rendered ConfigMap, run as the postgres image runs
 * them): each app role logs in with its own password only; running them
 * again rotates the passwords; and a Secret that would leave a role without
 * a password, or give both roles the same one, stops the first start.
 * The conformance suite runs the app on top of them.
 */
import { Client } from "pg";
import t, { type Test } from "tap";
import { renderWith } from "../helpers/kustomize.ts";
import { type PostgresCluster, startPostgres } from "../helpers/postgres.ts";
import { requirePasswords } from "../helpers/postgres-hba.ts";
import { runImageInitdb } from "../helpers/postgres-initdb.ts";

const objects = await renderWith(["postgres"]);

const SECRET = {
	"superuser-password": "superuser-password-of-the-test",
	"migrate-password": "migrate-password-of-the-test",
	"serve-password": "serve 'password' of the test",
};

/** Resolves with the SQLSTATE of a login as `user`, or "ok". */
async function login(
	pg: PostgresCluster,
	user: string,
	password: string,
): Promise<string> {
	const client = new Client({
		host: "127.0.0.1",
		port: pg.port,
		database: "sherpany",
		user,
		password,
	});
	try {
		await client.connect();
		return "ok";
	} catch (error) {
		return (error as { code?: string }).code ?? String(error);
	} finally {
		await client.end().catch(() => {});
	}
}

/** The roles that have a password stored. */
async function withPassword(pg: PostgresCluster): Promise<unknown[]> {
	const rows = await pg.query(
		pg.adminUrl,
		"SELECT rolname FROM pg_authid WHERE rolname LIKE 'sherpany%' AND rolpassword IS NOT NULL ORDER BY 1",
	);
	return rows.map((row) => row.rolname);
}

t.test(
	"each role logs in with its own password, and a re-run rotates them",
	async (t) => {
		const pg = await startPostgres(t);
		const first = await runImageInitdb(t, pg, objects, {
			secrets: { "sherpany-database": SECRET },
		});
		t.same(
			first.scripts,
			["10-roles.sql", "20-logins.sql"],
			"both scripts ran",
		);
		await requirePasswords(pg, ["sherpany_migrate", "sherpany_serve"]);
		t.equal(
			await login(pg, "sherpany_migrate", SECRET["migrate-password"]),
			"ok",
			"sherpany_migrate with migrate-password",
		);
		t.equal(
			await login(pg, "sherpany_serve", SECRET["serve-password"]),
			"ok",
			"sherpany_serve with serve-password (quotes and spaces survive)",
		);
		t.equal(
			await login(pg, "sherpany_serve", SECRET["migrate-password"]),
			"28P01",
			"sherpany_serve with the owner's password is refused",
		);
		t.equal(
			await login(pg, "sherpany_migrate", SECRET["superuser-password"]),
			"28P01",
			"the superuser's password opens neither app role",
		);
		const stored = await pg.query(
			pg.adminUrl,
			"SELECT bool_and(rolpassword LIKE 'SCRAM-SHA-256$%') AS hashed FROM pg_authid WHERE rolname LIKE 'sherpany%'",
		);
		t.equal(stored[0]?.hashed, true, "PostgreSQL keeps only SCRAM hashes");

		const rotated = { ...SECRET, "serve-password": "a-new-serve-password" };
		await runImageInitdb(t, pg, objects, {
			secrets: { "sherpany-database": rotated },
		});
		t.equal(
			await login(pg, "sherpany_serve", rotated["serve-password"]),
			"ok",
			"after a re-run, the new serve password logs in",
		);
		t.equal(
			await login(pg, "sherpany_serve", SECRET["serve-password"]),
			"28P01",
			"and the old one no longer does",
		);
	},
);

const REFUSED: [string, Record<string, string>, RegExp][] = [
	[
		"an empty password file",
		{ ...SECRET, "serve-password": "" },
		/must name files that hold the passwords/,
	],
	[
		"the same password for both app roles",
		{ ...SECRET, "serve-password": SECRET["migrate-password"] },
		/migrate-password and serve-password .* must differ/,
	],
];
for (const [label, secret, message] of REFUSED)
	t.test(`refused: ${label}`, async (t: Test) => {
		const pg = await startPostgres(t);
		await t.rejects(
			runImageInitdb(t, pg, objects, {
				secrets: { "sherpany-database": secret },
			}),
			message,
			"psql stops (ON_ERROR_STOP), so the image's first start fails, saying why",
		);
		t.same(await withPassword(pg), [], "and no role got a password");
	});
