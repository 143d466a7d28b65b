/** TLS to PostgreSQL: each sslmode against a server with a CA made on the spot. */
import t from "tap";
import { hasStackTrace, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t, { ssl: true });
const caFile = pg.caFile ?? "";
const url = await pg.createDatabase();

function migrateStatus(env: Record<string, string>) {
	return runCli(["migrate", "status"], {
		PG_CONNECT_TIMEOUT_MS: "3000",
		...env,
	});
}

t.test("verify-full and verify-ca with the CA bundle connect", async (t) => {
	for (const mode of ["verify-full", "verify-ca"]) {
		const result = await migrateStatus({
			DATABASE_URL: url,
			PGSSLMODE: mode,
			PGSSLROOTCERT: caFile,
		});
		t.equal(result.code, 0, `${mode}: ${result.stderr}`);
		t.match(result.stdout, /0001_create_users {2}pending/);
	}
	const viaUrl = await migrateStatus({
		DATABASE_URL: `${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`,
	});
	t.equal(viaUrl.code, 0, "sslmode and sslrootcert in the URL");
});

t.test("require encrypts without verifying", async (t) => {
	const result = await migrateStatus({
		DATABASE_URL: url,
		PGSSLMODE: "require",
	});
	t.equal(result.code, 0, result.stderr);
});

t.test(
	"verifying without the CA bundle fails with one clear line",
	async (t) => {
		for (const mode of ["verify-full", "verify-ca"]) {
			const result = await migrateStatus({
				DATABASE_URL: url,
				PGSSLMODE: mode,
			});
			t.equal(result.code, 1, mode);
			t.match(
				result.stderr,
				/^sherpany: TLS to the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+ \(sslmode=verify-(full|ca)\) failed \(.*certificate.*\): check --ssl-mode \(PGSSLMODE\) and --ssl-root-cert \(PGSSLROOTCERT\)\n$/,
			);
			t.notOk(hasStackTrace(result.stderr));
		}
	},
);
