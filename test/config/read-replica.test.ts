import t from "tap";
import {
	type DatabaseConfig,
	loadDatabaseConfig,
} from "../../src/config/database.ts";
import { loadReadReplicaConfig } from "../../src/config/read-replica.ts";
import { ConfigError } from "../../src/exit-codes.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const files: Record<string, string> = {
	"/run/secrets/read-url": "postgres://reader:read-pw@replica.internal/app\n",
	"/etc/primary-ca.pem": CA,
	"/etc/replica-ca.pem": CA.replace("MIIB", "MIIC"),
};
const io = {
	readFile: (path: string): string => {
		const content = files[path];
		if (content === undefined)
			throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
		return content;
	},
};

const primary = loadDatabaseConfig(
	{
		DATABASE_URL:
			"postgres://app:secret@primary.internal:5433/appdb?sslmode=verify-full&sslrootcert=/etc/primary-ca.pem",
		PG_POOL_MAX: "20",
		PG_CONNECT_TIMEOUT_MS: "1500",
	},
	{},
	io,
);

t.test("no read URL: no replica", async (t) => {
	t.equal(loadReadReplicaConfig({}, {}, primary, io), undefined);
});

t.test(
	"a read URL without credentials takes the primary's user, password, database and TLS",
	async (t) => {
		const config = loadReadReplicaConfig(
			{ DATABASE_READ_URL: "postgresql://sherpany-db-ro.sherpany:5432" },
			{},
			primary,
			io,
		);
		t.match(config, {
			postgres: {
				kind: "postgres",
				host: "sherpany-db-ro.sherpany",
				port: 5432,
				database: "appdb",
				user: "app",
				password: "secret",
				sslMode: "verify-full",
				sslRootCert: CA,
				poolMax: 10,
				connectTimeoutMs: 1500,
			},
			maxLagMs: 10_000,
			checkIntervalMs: 2000,
		});
		t.ok(Object.isFrozen(config));
		t.ok(Object.isFrozen(config?.postgres));
	},
);

t.test(
	"the read URL's own parts win; another user does not get the primary's password",
	async (t) => {
		const own = loadReadReplicaConfig(
			{
				DATABASE_READ_URL:
					"postgres://reader:pw2@replica:6000/other?sslmode=require&sslrootcert=/etc/replica-ca.pem",
			},
			{},
			primary,
			io,
		);
		t.match(own?.postgres, {
			host: "replica",
			port: 6000,
			user: "reader",
			password: "pw2",
			database: "other",
			sslMode: "require",
			sslRootCert: CA.replace("MIIB", "MIIC"),
		});
		const noPassword = loadReadReplicaConfig(
			{ DATABASE_READ_URL: "postgres://reader@replica/app" },
			{},
			primary,
			io,
		);
		t.equal(noPassword?.postgres.password, undefined);
		const samePassword = loadReadReplicaConfig(
			{ DATABASE_READ_URL: "postgres://app@replica/app" },
			{},
			primary,
			io,
		);
		t.equal(samePassword?.postgres.password, "secret");
	},
);

t.test("flag, then env, then DATABASE_READ_URL_FILE", async (t) => {
	t.equal(
		loadReadReplicaConfig(
			{ DATABASE_READ_URL: "postgres://from-env/app" },
			{ databaseReadUrl: "postgres://from-flag/app" },
			primary,
			io,
		)?.postgres.host,
		"from-flag",
	);
	t.match(
		loadReadReplicaConfig(
			{ DATABASE_READ_URL_FILE: "/run/secrets/read-url" },
			{},
			primary,
			io,
		)?.postgres,
		{ host: "replica.internal", user: "reader", password: "read-pw" },
	);
	t.throws(
		() =>
			loadReadReplicaConfig(
				{
					DATABASE_READ_URL: "postgres://a/app",
					DATABASE_READ_URL_FILE: "/run/secrets/read-url",
				},
				{},
				primary,
				io,
			),
		new ConfigError(
			"DATABASE_READ_URL and DATABASE_READ_URL_FILE are both set: set only one of them",
		),
	);
	t.throws(
		() =>
			loadReadReplicaConfig(
				{ DATABASE_READ_URL_FILE: "/run/secrets/missing" },
				{},
				primary,
				io,
			),
		/^DATABASE_READ_URL_FILE: cannot read \/run\/secrets\/missing \(ENOENT\)$/,
	);
});

t.test("pool size, lag bound and check interval", async (t) => {
	const config = loadReadReplicaConfig(
		{
			DATABASE_READ_URL: "postgres://replica/app",
			PG_READ_POOL_MAX: "30",
			READ_MAX_LAG_MS: "500",
			READ_CHECK_INTERVAL_MS: "250",
		},
		{ readPoolMax: "40" },
		primary,
		io,
	);
	t.equal(config?.postgres.poolMax, 40, "the flag wins");
	t.equal(config?.maxLagMs, 500);
	t.equal(config?.checkIntervalMs, 250);
	t.equal(primary.kind === "postgres" && primary.poolMax, 20, "own pool size");
	for (const [env, message] of [
		[{ PG_READ_POOL_MAX: "0" }, /^PG_READ_POOL_MAX: 0 is out of range/],
		[{ READ_MAX_LAG_MS: "soon" }, /^READ_MAX_LAG_MS: expected a whole number/],
		[
			{ READ_CHECK_INTERVAL_MS: "10" },
			/^READ_CHECK_INTERVAL_MS: 10 is out of range/,
		],
	] as const) {
		t.throws(
			() =>
				loadReadReplicaConfig(
					{ DATABASE_READ_URL: "postgres://replica/app", ...env },
					{},
					primary,
					io,
				),
			message,
		);
	}
});

t.test("bad read URLs name the setting, never the password", async (t) => {
	const bad = (url: string): unknown => {
		try {
			loadReadReplicaConfig({ DATABASE_READ_URL: url }, {}, primary, io);
		} catch (error) {
			return error;
		}
		return undefined;
	};
	const notUrl = bad("postgres://u:hunter2@[bad/app");
	t.type(notUrl, ConfigError);
	t.match((notUrl as Error).message, /^DATABASE_READ_URL /);
	t.notMatch((notUrl as Error).message, /hunter2/);
	t.match(
		(bad("mysql://replica/app") as Error).message,
		/^DATABASE_READ_URL must start with postgres:\/\//,
	);
	t.match(
		(bad("postgres://replica/app?sslmode=prefer") as Error).message,
		/^DATABASE_READ_URL \(sslmode\): expected one of disable, require/,
	);
});

t.test("a read URL needs a PostgreSQL primary", async (t) => {
	const embedded: DatabaseConfig = loadDatabaseConfig({}, {}, io);
	t.throws(
		() =>
			loadReadReplicaConfig(
				{},
				{ databaseReadUrl: "postgres://replica/app" },
				embedded,
				io,
			),
		/^--database-read-url is set, but there is no PostgreSQL primary: set DATABASE_URL \(or PGHOST\) too/,
	);
});
