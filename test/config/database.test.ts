import t from "tap";
import {
	type DatabaseConfig,
	describeDatabase,
	loadDatabaseConfig,
} from "../../src/config/database.ts";
import { ConfigError } from "../../src/exit-codes.ts";

const files: Record<string, string> = {
	"/run/secrets/url": "postgres://file-user:file-pw@db.internal:6543/filedb\n",
	"/run/secrets/pw": "pw-from-file\n",
	"/run/secrets/empty": "",
	"/etc/ca.pem":
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	"/etc/not-a-cert": "hello",
};
const io = {
	readFile: (path: string): string => {
		const content = files[path];
		if (content === undefined)
			throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
		return content;
	},
};

t.test("DATABASE_URL is parsed into its parts", async (t) => {
	const config = loadDatabaseConfig(
		{
			DATABASE_URL:
				"postgresql://app:p%40ss@db.example.com:6432/users_db?sslmode=require",
		},
		{},
		io,
	);
	t.match(config, {
		kind: "postgres",
		host: "db.example.com",
		port: 6432,
		database: "users_db",
		user: "app",
		password: "p@ss",
		sslMode: "require",
		sslRootCert: undefined,
		poolMax: 10,
		connectTimeoutMs: 5000,
	});
	t.ok(Object.isFrozen(config));
	t.equal(
		describeDatabase(config),
		"postgres://app@db.example.com:6432/users_db (sslmode=require)",
	);
});

t.test(
	"defaults: port 5432, user postgres, database named after the user, sslmode disable",
	async (t) => {
		t.match(loadDatabaseConfig({ DATABASE_URL: "postgres://db" }, {}, io), {
			host: "db",
			port: 5432,
			user: "postgres",
			database: "postgres",
			password: undefined,
			sslMode: "disable",
		});
	},
);

t.test("flags win over environment", async (t) => {
	const config = loadDatabaseConfig(
		{
			DATABASE_URL: "postgres://env-host/envdb",
			PGSSLMODE: "require",
			PG_POOL_MAX: "5",
		},
		{
			databaseUrl: "postgres://flag-host/flagdb",
			sslMode: "verify-full",
			sslRootCert: "/etc/ca.pem",
			poolMax: "7",
		},
		io,
	);
	t.match(config, {
		host: "flag-host",
		database: "flagdb",
		sslMode: "verify-full",
		poolMax: 7,
	});
});

/** One field of a PostgreSQL config. */
function field(config: DatabaseConfig, key: "sslMode" | "host"): string {
	if (config.kind !== "postgres")
		throw new Error("expected a PostgreSQL config");
	return config[key];
}

t.test("sslmode: flag, then the URL, then PGSSLMODE", async (t) => {
	t.equal(
		field(
			loadDatabaseConfig(
				{
					DATABASE_URL: "postgres://h?sslmode=require",
					PGSSLMODE: "verify-ca",
				},
				{},
				io,
			),
			"sslMode",
		),
		"require",
	);
	t.equal(
		field(
			loadDatabaseConfig(
				{
					DATABASE_URL: "postgres://h",
					PGSSLMODE: "verify-ca",
					PGSSLROOTCERT: "/etc/ca.pem",
				},
				{},
				io,
			),
			"sslMode",
		),
		"verify-ca",
	);
});

t.test("DATABASE_URL_FILE reads a mounted secret", async (t) => {
	t.match(
		loadDatabaseConfig({ DATABASE_URL_FILE: "/run/secrets/url" }, {}, io),
		{
			host: "db.internal",
			port: 6543,
			user: "file-user",
			password: "file-pw",
			database: "filedb",
		},
	);
});

t.test(
	"libpq PG* variables, with PGPASSWORD_FILE and the CA bundle",
	async (t) => {
		const config = loadDatabaseConfig(
			{
				PGHOST: "pg.local",
				PGPORT: "5433",
				PGDATABASE: "app",
				PGUSER: "svc",
				PGPASSWORD_FILE: "/run/secrets/pw",
				PGSSLMODE: "verify-full",
				PGSSLROOTCERT: "/etc/ca.pem",
			},
			{},
			io,
		);
		t.match(config, {
			host: "pg.local",
			port: 5433,
			database: "app",
			user: "svc",
			password: "pw-from-file",
			sslMode: "verify-full",
			sslRootCert: /BEGIN CERTIFICATE/,
		});
	},
);

t.test(
	"the original app's DB_* variables, and PG* winning over them one by one",
	async (t) => {
		t.match(
			loadDatabaseConfig(
				{
					DB_HOST: "legacy",
					DB_PORT: "5434",
					DB_NAME: "flaskdb",
					DB_USER: "flask",
					DB_PASSWORD: "pw",
				},
				{},
				io,
			),
			{
				host: "legacy",
				port: 5434,
				database: "flaskdb",
				user: "flask",
				password: "pw",
			},
		);
		t.match(
			loadDatabaseConfig(
				{ DB_HOST: "legacy", PGHOST: "modern", DB_USER: "flask" },
				{},
				io,
			),
			{
				host: "modern",
				user: "flask",
			},
		);
		t.match(
			loadDatabaseConfig(
				{ DB_HOST: "h", DB_PASSWORD_FILE: "/run/secrets/pw" },
				{},
				io,
			),
			{
				password: "pw-from-file",
			},
		);
	},
);

t.test("DATABASE_URL wins over PG* and DB_*", async (t) => {
	t.equal(
		field(
			loadDatabaseConfig(
				{ DATABASE_URL: "postgres://url-host", PGHOST: "pg", DB_HOST: "db" },
				{},
				io,
			),
			"host",
		),
		"url-host",
	);
});

/** Every bad configuration: the message names the flag or variable and leaks no password. */
const bad: [string, Record<string, string>, Record<string, string>, RegExp][] =
	[
		[
			"unparsable URL",
			{ DATABASE_URL: "postgres://u:hunter2@[bad" },
			{},
			/^DATABASE_URL is not a valid URL/,
		],
		[
			"wrong scheme",
			{ DATABASE_URL: "mysql://u:hunter2@h/db" },
			{},
			/^DATABASE_URL must start with postgres:\/\//,
		],
		[
			"URL port out of range",
			{ DATABASE_URL: "postgres://u:hunter2@h:70000/db" },
			{},
			/^DATABASE_URL has a port out of range: expected 1 to 65535, as in postgres:/,
		],
		[
			"URL port out of range, long host name",
			{ DATABASE_URL: "postgres://u:hunter2@db.example.com:70000/db" },
			{},
			/^DATABASE_URL has a port out of range: expected 1 to 65535, as in postgres:/,
		],
		[
			"URL port out of range, IPv6 host",
			{ DATABASE_URL: "postgresql://u:hunter2@[::1]:99999" },
			{},
			/^DATABASE_URL has a port out of range: expected 1 to 65535/,
		],
		[
			"URL port out of range, flag",
			{},
			{ databaseUrl: "postgres://h:123456/db?sslmode=require" },
			/^--database-url has a port out of range/,
		],
		[
			"unparsable URL with a port in range",
			{ DATABASE_URL: "postgres://u:hunter2@bad host:5432/db" },
			{},
			/^DATABASE_URL is not a valid URL, as in postgres:/,
		],
		[
			"unparsable URL with the highest port",
			{ DATABASE_URL: "postgres://u:hunter2@bad host:65535/db" },
			{},
			/^DATABASE_URL is not a valid URL, as in postgres:/,
		],
		[
			"URL port 0",
			{ DATABASE_URL: "postgres://u:hunter2@h:0/db" },
			{},
			/^DATABASE_URL \(port\): 0 is out of range, expected 1 to 65535$/,
		],
		[
			"URL port not a number",
			{ DATABASE_URL: "postgres://u:hunter2@h:54x/db" },
			{},
			/^DATABASE_URL is not a valid URL, as in postgres:/,
		],
		[
			"URL without host",
			{ DATABASE_URL: "postgres:///db" },
			{},
			/^DATABASE_URL has no host/,
		],
		[
			"flag URL",
			{},
			{ databaseUrl: "nope" },
			/^--database-url is not a valid URL/,
		],
		[
			"malformed %-escape in the password",
			{ DATABASE_URL: "postgres://u:hunter2%ZZ@h/db" },
			{},
			/^DATABASE_URL has a malformed %-escape in the password: write a literal % as %25$/,
		],
		[
			"malformed %-escape in the user name",
			{},
			{ databaseUrl: "postgres://hunter2%E0%A4@h/db" },
			/^--database-url has a malformed %-escape in the user name/,
		],
		[
			"malformed %-escape in the database name",
			{ DATABASE_URL: "postgres://u:hunter2@h/db%" },
			{},
			/^DATABASE_URL has a malformed %-escape in the database name/,
		],
		[
			"PGPORT out of range",
			{ PGHOST: "h", PGPORT: "0" },
			{},
			/^PGPORT: 0 is out of range, expected 1 to 65535/,
		],
		[
			"DB_PORT not a number",
			{ DB_HOST: "h", DB_PORT: "fivefourthree" },
			{},
			/^DB_PORT: expected a whole number/,
		],
		[
			"unknown sslmode",
			{ DATABASE_URL: "postgres://h", PGSSLMODE: "prefer" },
			{},
			/^PGSSLMODE: expected one of disable, require, verify-ca, verify-full/,
		],
		[
			"sslmode in URL",
			{ DATABASE_URL: "postgres://h?sslmode=bogus" },
			{},
			/^DATABASE_URL \(sslmode\): expected one of/,
		],
		[
			"unreadable secret file",
			{ DATABASE_URL_FILE: "/run/secrets/missing" },
			{},
			/^DATABASE_URL_FILE: cannot read \/run\/secrets\/missing \(ENOENT\)/,
		],
		[
			"empty secret file",
			{ PGHOST: "h", PGPASSWORD_FILE: "/run/secrets/empty" },
			{},
			/^PGPASSWORD_FILE: \/run\/secrets\/empty is empty/,
		],
		[
			"both forms of a secret",
			{
				PGHOST: "h",
				PGPASSWORD: "hunter2",
				PGPASSWORD_FILE: "/run/secrets/pw",
			},
			{},
			/^PGPASSWORD and PGPASSWORD_FILE are both set/,
		],
		[
			"unreadable CA bundle",
			{ DATABASE_URL: "postgres://h", PGSSLROOTCERT: "/etc/missing.pem" },
			{},
			/^PGSSLROOTCERT: cannot read CA bundle \/etc\/missing\.pem \(ENOENT\)/,
		],
		[
			"CA bundle without a certificate",
			{ DATABASE_URL: "postgres://h" },
			{ sslRootCert: "/etc/not-a-cert" },
			/^--ssl-root-cert: \/etc\/not-a-cert holds no PEM certificate/,
		],
		[
			"pool size",
			{ DATABASE_URL: "postgres://h" },
			{ poolMax: "0" },
			/^--pool-max: 0 is out of range/,
		],
		[
			"connect timeout",
			{ DATABASE_URL: "postgres://h", PG_CONNECT_TIMEOUT_MS: "soon" },
			{},
			/^PG_CONNECT_TIMEOUT_MS: expected a whole number/,
		],
	];
for (const [name, env, flags, message] of bad) {
	t.test(`config error: ${name}`, async (t) => {
		const error = t.throws(() => loadDatabaseConfig(env, flags, io)) as unknown;
		t.type(error, ConfigError);
		t.match((error as Error).message, message);
		t.notMatch(
			(error as Error).message,
			/hunter2/,
			"no password in the message",
		);
	});
}

t.test(
	"with no PostgreSQL configured, the embedded database is used",
	async (t) => {
		const config = loadDatabaseConfig({}, {}, io);
		t.same(config, { kind: "embedded", dataDir: ".sherpany/data" });
		t.equal(
			describeDatabase(config),
			"embedded PGlite database in .sherpany/data",
		);
		t.same(
			loadDatabaseConfig({ SHERPANY_DATA_DIR: "/var/lib/sherpany" }, {}, io),
			{
				kind: "embedded",
				dataDir: "/var/lib/sherpany",
			},
		);
		t.same(
			loadDatabaseConfig(
				{ SHERPANY_DATA_DIR: "/var/lib/sherpany" },
				{ dataDir: "memory://" },
				io,
			),
			{ kind: "embedded", dataDir: "memory://" },
			"the flag wins",
		);
		t.equal(
			describeDatabase(loadDatabaseConfig({}, { dataDir: "memory://" }, io)),
			"embedded PGlite database in memory",
		);
		t.equal(
			loadDatabaseConfig({ SHERPANY_DATA_DIR: "/x", PGHOST: "db" }, {}, io)
				.kind,
			"postgres",
			"a configured PostgreSQL wins over the data directory",
		);
	},
);

t.test(
	"an IPv6 host is given to the driver without its brackets",
	async (t) => {
		const hostOf = (url: string) => {
			const config = loadDatabaseConfig({ DATABASE_URL: url }, {}, io);
			return config.kind === "postgres" ? config.host : undefined;
		};
		t.equal(hostOf("postgres://u@[::1]:6543/db"), "::1");
		t.equal(hostOf("postgres://u@[fd00::a:1]/db"), "fd00::a:1");
	},
);
