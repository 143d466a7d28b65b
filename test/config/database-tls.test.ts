/**
 * TLS settings with libpq's rules: no verification without a root
 * certificate, `sslrootcert=system`, the minimum sslmode (for the primary,
 * the replica and the embedded fallback) and the URL's TLS parameters that
 * sherpany does not read.
 */
import t, { type Test } from "tap";
import {
	type DatabaseConfig,
	type DatabaseFlags,
	loadDatabaseConfig,
} from "../../src/config/database.ts";
import { loadReadReplicaConfig } from "../../src/config/read-replica.ts";
import type { Env } from "../../src/config/values.ts";
import { toSslOptions } from "../../src/db/postgres.ts";
import { ConfigError } from "../../src/exit-codes.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const SYSTEM = [
	"-----BEGIN CERTIFICATE-----\nSYS1\n-----END CERTIFICATE-----",
	"-----BEGIN CERTIFICATE-----\nSYS2\n-----END CERTIFICATE-----",
];
const files: Record<string, string> = { "/etc/ca.pem": CA };
const io = {
	readFile: (path: string): string => {
		const content = files[path];
		if (content === undefined)
			throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
		return content;
	},
	systemRoots: () => SYSTEM,
};

function load(env: Env, flags: DatabaseFlags = {}, roots = io): DatabaseConfig {
	return loadDatabaseConfig(env, flags, roots);
}

/** The message of the ConfigError `fn` throws. */
function configError(t: Test, fn: () => unknown): string {
	const error = t.throws(fn) as unknown;
	t.type(error, ConfigError);
	return (error as Error).message;
}

t.test(
	"verify-ca and verify-full without a root certificate are configuration errors naming where to set one",
	async (t) => {
		for (const mode of ["verify-ca", "verify-full"]) {
			t.match(
				configError(t, () =>
					load({ DATABASE_URL: "postgres://db", PGSSLMODE: mode }),
				),
				new RegExp(
					`^PGSSLMODE is ${mode}, which verifies the server's certificate, but no root certificate is set: set PGSSLROOTCERT \\(or --ssl-root-cert\\) to your CA bundle's file, or to "system"`,
				),
			);
			t.match(
				configError(t, () =>
					load({ DATABASE_URL: `postgres://u:hunter2@db?sslmode=${mode}` }),
				),
				/^DATABASE_URL \(sslmode\) is verify-.*: add sslrootcert=<file> to DATABASE_URL, or set --ssl-root-cert or PGSSLROOTCERT,/,
			);
			t.match(
				configError(t, () =>
					load({ DATABASE_URL: "postgres://db" }, { sslMode: mode }),
				),
				/^--ssl-mode is verify-.*: pass --ssl-root-cert <file>/,
			);
		}
		t.match(
			load({
				PGHOST: "db",
				PGSSLMODE: "verify-ca",
				PGSSLROOTCERT: "/etc/ca.pem",
			}),
			{
				sslMode: "verify-ca",
				sslRootCert: CA,
			},
		);
	},
);

t.test(
	"sslrootcert=system takes the system's roots and makes verify-full the default",
	async (t) => {
		const config = load({ DATABASE_URL: "postgres://db?sslrootcert=system" });
		t.match(config, {
			sslMode: "verify-full",
			sslRootCert: SYSTEM.join("\n"),
		});
		t.match(
			load({ PGHOST: "db", PGSSLROOTCERT: "system", PGSSLMODE: "verify-full" }),
			{ sslMode: "verify-full", sslRootCert: SYSTEM.join("\n") },
		);
	},
);

t.test(
	"sslrootcert=system refuses any mode weaker than verify-full",
	async (t) => {
		for (const mode of ["disable", "require", "verify-ca"]) {
			t.match(
				configError(t, () =>
					load({
						DATABASE_URL: `postgres://db?sslrootcert=system&sslmode=${mode}`,
					}),
				),
				new RegExp(
					`^DATABASE_URL \\(sslrootcert\\) is "system", which needs sslmode=verify-full .*, but DATABASE_URL \\(sslmode\\) is ${mode}`,
				),
			);
		}
	},
);

t.test("sslrootcert=system on a system without roots", async (t) => {
	t.match(
		configError(t, () =>
			load(
				{ PGHOST: "db", PGSSLROOTCERT: "system" },
				{},
				{
					...io,
					systemRoots: () => [],
				},
			),
		),
		/^PGSSLROOTCERT is "system", but this system has no trusted root certificates/,
	);
});

t.test(
	"the runtime's system roots are read when none are injected",
	async (t) => {
		const config = loadDatabaseConfig(
			{ PGHOST: "db", PGSSLROOTCERT: "system" },
			{},
			{ readFile: io.readFile },
		);
		if (config.kind !== "postgres") throw new Error("expected PostgreSQL");
		t.match(config.sslRootCert, /-----BEGIN CERTIFICATE-----/);
	},
);

t.test(
	"a minimum sslmode refuses a weaker URL sslmode, naming both settings",
	async (t) => {
		const env = {
			DATABASE_URL_FILE: "/run/url",
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: "/etc/ca.pem",
			PG_SSLMODE_MIN: "verify-full",
		};
		const withUrl = (url: string) => ({
			...io,
			readFile: (path: string) =>
				path === "/run/url" ? url : io.readFile(path),
		});
		t.match(
			configError(t, () =>
				load(env, {}, withUrl("postgres://u:hunter2@db/app?sslmode=require")),
			),
			/^DATABASE_URL_FILE \(sslmode\) is require, weaker than the minimum PG_SSLMODE_MIN=verify-full: remove sslmode from the URL or set it to verify-full or stronger$/,
		);
		t.match(load(env, {}, withUrl("postgres://u:pw@db/app")), {
			sslMode: "verify-full",
		});
		t.match(
			load(env, {}, withUrl("postgres://u:pw@db/app?sslmode=verify-full")),
			{ sslMode: "verify-full" },
		);
		t.match(
			configError(t, () =>
				load(
					{ DATABASE_URL: "postgres://db", PGSSLROOTCERT: "/etc/ca.pem" },
					{ sslMode: "verify-ca", sslModeMin: "verify-full" },
				),
			),
			/^--ssl-mode is verify-ca, weaker than the minimum --ssl-mode-min=verify-full: set it to verify-full or stronger$/,
		);
		t.match(
			configError(t, () =>
				load({ DATABASE_URL: "postgres://db", PG_SSLMODE_MIN: "require" }),
			),
			/^no sslmode is set, and the default \(disable\) is weaker than the minimum PG_SSLMODE_MIN=require: add sslmode=require or stronger to the URL, or set PGSSLMODE \(or --ssl-mode\)$/,
		);
		t.match(
			load({
				DATABASE_URL: "postgres://db?sslmode=require",
				PG_SSLMODE_MIN: "require",
			}),
			{ sslMode: "require" },
		);
		t.match(
			configError(t, () =>
				load({ DATABASE_URL: "postgres://db", PG_SSLMODE_MIN: "strong" }),
			),
			/^PG_SSLMODE_MIN: expected one of disable, require, verify-ca, verify-full, got "strong"/,
		);
	},
);

t.test(
	"a minimum sslmode with no PostgreSQL configured does not fall back to the embedded database",
	async (t) => {
		t.match(
			configError(t, () => load({ PG_SSLMODE_MIN: "verify-full" })),
			/^PG_SSLMODE_MIN is verify-full, but no PostgreSQL is configured: set DATABASE_URL \(or PGHOST\)/,
		);
		t.match(load({ PG_SSLMODE_MIN: "disable" }), { kind: "embedded" });
	},
);

t.test(
	"the read replica obeys the minimum, the flags and the root-certificate rule",
	async (t) => {
		const env = {
			DATABASE_URL: "postgres://app:pw@primary/app",
			PGSSLMODE: "verify-full",
			PGSSLROOTCERT: "/etc/ca.pem",
			PG_SSLMODE_MIN: "verify-full",
		};
		const primary = load(env);
		t.match(
			configError(t, () =>
				loadReadReplicaConfig(
					{
						...env,
						DATABASE_READ_URL: "postgres://u:hunter2@replica?sslmode=require",
					},
					{},
					primary,
					io,
				),
			),
			/^DATABASE_READ_URL \(sslmode\) is require, weaker than the minimum PG_SSLMODE_MIN=verify-full/,
		);
		t.match(
			loadReadReplicaConfig(
				{ ...env, DATABASE_READ_URL: "postgres://replica" },
				{},
				primary,
				io,
			)?.postgres,
			{ sslMode: "verify-full", sslRootCert: CA },
			"the primary's TLS is inherited",
		);
		const flagged = load(
			{ DATABASE_URL: "postgres://primary" },
			{
				sslMode: "verify-full",
				sslRootCert: "/etc/ca.pem",
			},
		);
		t.match(
			loadReadReplicaConfig(
				{ DATABASE_READ_URL: "postgres://replica?sslmode=require" },
				{ sslMode: "verify-full", sslRootCert: "/etc/ca.pem" },
				flagged,
				io,
			)?.postgres,
			{ sslMode: "verify-full", sslRootCert: CA },
			"--ssl-mode wins over the read URL's sslmode, as over the primary's",
		);
		const plain = load({ DATABASE_URL: "postgres://primary" });
		t.match(
			configError(t, () =>
				loadReadReplicaConfig(
					{ DATABASE_READ_URL: "postgres://replica?sslmode=verify-ca" },
					{},
					plain,
					io,
				),
			),
			/^DATABASE_READ_URL \(sslmode\) is verify-ca, .*no root certificate is set: add sslrootcert=<file> to DATABASE_READ_URL/,
		);
	},
);

t.test(
	"TLS parameters of the URL that sherpany does not read are refused",
	async (t) => {
		for (const parameter of [
			"ssl=true",
			"requiressl=1",
			"sslcert=/c",
			"sslkey=/k",
			"sslpassword=x",
			"sslcrl=/etc/crl.pem",
			"sslcrldir=/etc/crl",
			"sslcertmode=require",
			"sslnegotiation=direct",
			"ssl_min_protocol_version=TLSv1.3",
			"ssl_max_protocol_version=TLSv1.2",
		]) {
			const name = parameter.split("=")[0];
			const message = configError(t, () =>
				load({ DATABASE_URL: `postgres://u:hunter2@db/app?${parameter}` }),
			);
			t.match(
				message,
				new RegExp(
					`^DATABASE_URL has the parameter ${name}, which sherpany does not support: say what TLS you need with sslmode`,
				),
			);
			t.notMatch(message, /hunter2/);
		}
	},
);

t.test("node-postgres' TLS options for each mode", async (t) => {
	const base = load({ DATABASE_URL: "postgres://db" });
	if (base.kind !== "postgres") throw new Error("expected PostgreSQL");
	t.equal(toSslOptions(base), false);
	t.same(toSslOptions({ ...base, sslMode: "require" }), {
		rejectUnauthorized: false,
	});
	const requireWithCa = toSslOptions({
		...base,
		sslMode: "require",
		sslRootCert: CA,
	}) as { rejectUnauthorized: boolean; ca: string };
	t.equal(
		requireWithCa.rejectUnauthorized,
		true,
		"require with a CA checks the chain, as libpq does",
	);
	t.equal(requireWithCa.ca, CA);
	const full = toSslOptions({
		...base,
		sslMode: "verify-full",
		sslRootCert: CA,
	}) as Record<string, unknown>;
	t.same(
		full,
		{ rejectUnauthorized: true, ca: CA },
		"verify-full leaves Node's host-name check in place",
	);
	for (const sslMode of ["verify-ca", "verify-full"] as const) {
		t.throws(
			() => toSslOptions({ ...base, sslMode, sslRootCert: undefined }),
			ConfigError,
			`${sslMode} without a CA never reaches Node's public roots`,
		);
	}
});

t.test(
	"a root certificate without an sslmode verifies the server rather than going unused",
	async (t) => {
		t.match(load({ PGHOST: "db", PGSSLROOTCERT: "/etc/ca.pem" }), {
			sslMode: "verify-full",
			sslRootCert: CA,
		});
		t.match(load({ DATABASE_URL: "postgres://db?sslrootcert=/etc/ca.pem" }), {
			sslMode: "verify-full",
		});
		t.match(
			load({
				PGHOST: "db",
				PGSSLROOTCERT: "/etc/ca.pem",
				PGSSLMODE: "disable",
			}),
			{ sslMode: "disable" },
			"an sslmode that is set is kept, as in libpq",
		);
	},
);

t.test(
	"a URL that gives sslmode or sslrootcert twice exits 2: libpq takes the last, and the first would be plain text",
	async (t) => {
		t.match(
			configError(t, () =>
				load({
					DATABASE_URL:
						"postgres://u:hunter2@db/app?sslmode=disable&sslmode=require",
				}),
			),
			/^DATABASE_URL has sslmode twice \(disable, require\): give it once$/,
		);
		t.match(
			configError(t, () =>
				load({
					DATABASE_URL:
						"postgres://db/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslrootcert=system",
				}),
			),
			/^DATABASE_URL has sslrootcert twice \(\/etc\/ca\.pem, system\): give it once$/,
		);
		t.match(
			configError(t, () =>
				loadReadReplicaConfig(
					{
						DATABASE_URL: "postgres://db/app",
						DATABASE_READ_URL:
							"postgres://replica/app?sslmode=disable&sslmode=require",
					},
					{},
					load({ DATABASE_URL: "postgres://db/app" }),
					io,
				),
			),
			/^DATABASE_READ_URL has sslmode twice/,
		);
	},
);
