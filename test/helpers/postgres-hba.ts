/**
 * Makes a throwaway cluster (test/helpers/postgres.ts, trust auth for
 * everyone) ask some roles for their password over TCP, so that a test
 * proves the passwords a deployment hands out are the ones PostgreSQL holds.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { Client } from "pg";
import type { PostgresCluster } from "./postgres.ts";

/**
 * Puts a `host … scram-sha-256` line for `roles` before the cluster's trust
 * lines, reloads the configuration, and waits until a connection as the
 * first role with a wrong password is refused. The superuser keeps trust.
 */
export async function requirePasswords(
	pg: Pick<PostgresCluster, "adminUrl" | "port" | "query">,
	roles: readonly string[],
): Promise<void> {
	const [row] = await pg.query(pg.adminUrl, "SHOW hba_file");
	const file = String(row?.hba_file);
	const hba = await readFile(file, "utf8");
	// The first matching line wins: these come before the template's trust.
	await writeFile(
		file,
		`host all ${roles.join(",")} all scram-sha-256\n${hba}`,
	);
	await pg.query(pg.adminUrl, "SELECT pg_reload_conf()");
	// The postmaster reloads on SIGHUP, a moment after the call returns.
	for (let waited = 0; waited < 5000; waited += 50) {
		const client = new Client({
			host: "127.0.0.1",
			port: pg.port,
			user: roles[0],
			database: "postgres",
			password: "not-the-password",
		});
		// 28P01: the server asked for the password and refused it.
		const refused = await client.connect().then(
			() => false,
			(error: { code?: string }) => error.code === "28P01",
		);
		await client.end().catch(() => {});
		if (refused) return;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`${file}: ${roles[0]} still gets in with a wrong password`);
}
