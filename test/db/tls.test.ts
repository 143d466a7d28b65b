/**
 * TLS to PostgreSQL: each sslmode against a server with a CA made on the
 * spot, the system's roots (`sslrootcert=system`), the minimum sslmode, and
 * the host-name check of verify-full.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import t from "tap";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { makeCertificates } from "../helpers/certificates.ts";
import { hasStackTrace, runCli } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { useServerCertificate } from "../helpers/server-certificate.ts";

const pg = await startPostgres(t, { ssl: true });
const caFile = pg.caFile ?? "";
const url = await pg.createDatabase();
const scratch = await mkdtemp(join(tmpdir(), "sherpany-tls-"));
t.teardown(() => rm(scratch, { recursive: true, force: true }));

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

/**
 * Whether the server sees TLS on the session sherpany opens with `env`'s
 * settings (the configuration and pool every command uses), by
 * `pg_stat_ssl` for that session's backend.
 */
async function sessionUsesTls(env: Record<string, string>): Promise<unknown> {
	const handle = await openDatabase(
		loadDatabaseConfig({ PG_CONNECT_TIMEOUT_MS: "3000", ...env }),
	);
	try {
		const { rows } = await sql<{
			ssl: boolean;
		}>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(
			handle.db,
		);
		return rows[0]?.ssl;
	} finally {
		await handle.close();
	}
}

t.test("require encrypts without verifying", async (t) => {
	const env = { DATABASE_URL: url, PGSSLMODE: "require" };
	const result = await migrateStatus(env);
	t.equal(result.code, 0, result.stderr);
	// The server takes plain connections too (its pg_hba.conf has `host`
	// lines), so connecting proves nothing: the server must see TLS.
	t.equal(await sessionUsesTls(env), true, "pg_stat_ssl: the session is TLS");
	t.equal(
		await sessionUsesTls({ DATABASE_URL: url, PGSSLMODE: "disable" }),
		false,
		"and disable's is not: the server accepts both",
	);
});

t.test(
	"verifying without a root certificate is a configuration error, before any connection",
	async (t) => {
		for (const mode of ["verify-full", "verify-ca"]) {
			const result = await migrateStatus({
				DATABASE_URL: url,
				PGSSLMODE: mode,
			});
			t.equal(result.code, 2, mode);
			t.match(
				result.stderr,
				/^sherpany: PGSSLMODE is verify-(full|ca), which verifies the server's certificate, but no root certificate is set: set PGSSLROOTCERT \(or --ssl-root-cert\)/,
			);
			t.notOk(hasStackTrace(result.stderr));
		}
	},
);

t.test(
	"require with a root certificate checks the chain, as libpq does",
	async (t) => {
		const other = await makeCertificates(join(scratch, "other"), undefined);
		const wrong = await migrateStatus({
			DATABASE_URL: url,
			PGSSLMODE: "require",
			PGSSLROOTCERT: other.caFile,
		});
		t.equal(wrong.code, 1, "a CA that did not sign the server's certificate");
		t.match(wrong.stderr, /TLS to the database .* failed \(.*certificate/);
		const right = await migrateStatus({
			DATABASE_URL: url,
			PGSSLMODE: "require",
			PGSSLROOTCERT: caFile,
		});
		t.equal(right.code, 0, right.stderr);
	},
);

t.test(
	"sslrootcert=system verifies against the system's roots, and only those",
	async (t) => {
		// OpenSSL's SSL_CERT_FILE and SSL_CERT_DIR say where the system's
		// roots are: first a store that holds the test CA, then one that
		// holds only an unrelated CA.
		const emptyDir = join(scratch, "empty");
		await mkdir(emptyDir);
		const trusted = await migrateStatus({
			DATABASE_URL: `${url}?sslrootcert=system`,
			SSL_CERT_FILE: caFile,
			SSL_CERT_DIR: emptyDir,
		});
		t.equal(trusted.code, 0, `the test CA in the store: ${trusted.stderr}`);
		const unrelated = await makeCertificates(
			join(scratch, "unrelated"),
			undefined,
		);
		const untrusted = await migrateStatus({
			DATABASE_URL: `${url}?sslrootcert=system`,
			SSL_CERT_FILE: unrelated.caFile,
			SSL_CERT_DIR: emptyDir,
		});
		t.equal(untrusted.code, 1, "the test CA not in the store");
		t.match(
			untrusted.stderr,
			/TLS to the database .*\(sslmode=verify-full\) failed \(.*certificate/,
		);
		const weaker = await migrateStatus({
			DATABASE_URL: `${url}?sslrootcert=system&sslmode=verify-ca`,
			SSL_CERT_FILE: caFile,
			SSL_CERT_DIR: emptyDir,
		});
		t.equal(weaker.code, 2, "system roots with a weaker mode");
		t.match(weaker.stderr, /needs sslmode=verify-full/);
	},
);

t.test(
	"a URL sslmode weaker than PG_SSLMODE_MIN exits 2 naming both",
	async (t) => {
		const result = await migrateStatus({
			DATABASE_URL: `${url}?sslmode=require`,
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: caFile,
			PG_SSLMODE_MIN: "verify-full",
		});
		t.equal(result.code, 2);
		t.equal(
			result.stderr,
			"sherpany: DATABASE_URL (sslmode) is require, weaker than the minimum PG_SSLMODE_MIN=verify-full: remove sslmode from the URL or set it to verify-full or stronger\n",
		);
	},
);

// Last: this replaces the server's certificate for the rest of the file.
t.test(
	"verify-full checks the host name against the host connected to",
	async (t) => {
		const ca = await useServerCertificate(t, pg, ["localhost"]);
		const caPath = join(scratch, "localhost-ca.crt");
		await writeFile(caPath, ca);
		const byAddress = await migrateStatus({
			DATABASE_URL: url,
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: caPath,
		});
		t.equal(byAddress.code, 1, "127.0.0.1 is not a name on the certificate");
		t.match(
			byAddress.stderr,
			/TLS to the database .* failed \(.*(IP|[Hh]ost).*\)/,
		);
		const byName = await migrateStatus({
			DATABASE_URL: url.replace("127.0.0.1", "localhost"),
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: caPath,
		});
		t.equal(byName.code, 0, `localhost is: ${byName.stderr}`);
		const chainOnly = await migrateStatus({
			DATABASE_URL: url,
			PGSSLMODE: "verify-ca",
			PGSSLROOTCERT: caPath,
		});
		t.equal(chainOnly.code, 0, `verify-ca checks no name: ${chainOnly.stderr}`);
	},
);
