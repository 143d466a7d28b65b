/**
 * Where the database is and how to reach it: `--database-url`/`DATABASE_URL`,
 * else libpq's `PG*` variables, else the original app's `DB_*` variables,
 * else the embedded PGlite database in `--data-dir`/`SHERPANY_DATA_DIR`.
 */
import { ConfigError } from "../exit-codes.ts";
import {
	parseMinimum,
	type ReadSystemRoots,
	resolveTls,
	SSL_MODES,
	type SslMode,
} from "./database-tls.ts";
import { milliseconds } from "./durations.ts";
import {
	type FlagsOf,
	fromFlag,
	fromVariables,
	pick,
	resolve,
	type Settings,
} from "./setting.ts";
import {
	type Env,
	fallback,
	fromEnv,
	parseChoice,
	parseInteger,
	parsePort,
	type RawSetting,
	type ReadFile,
	readFileUtf8,
	readSecret,
} from "./values.ts";

const DEFAULT_PG_PORT = 5432;
const DEFAULT_PG_USER = "postgres";
export const DEFAULT_POOL_MAX = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** A PostgreSQL server to connect to. */
export interface PostgresConfig {
	readonly kind: "postgres";
	readonly host: string;
	readonly port: number;
	readonly database: string;
	readonly user: string;
	readonly password: string | undefined;
	readonly sslMode: SslMode;
	/** PEM contents of the CA bundle (`sslrootcert`), if one was given. */
	readonly sslRootCert: string | undefined;
	readonly poolMax: number;
	readonly connectTimeoutMs: number;
}

/** The embedded PGlite database, used when no PostgreSQL is configured. */
export interface EmbeddedConfig {
	readonly kind: "embedded";
	/** A directory, or `memory://` for a database that lives only as long as the process. */
	readonly dataDir: string;
}

export type DatabaseConfig = PostgresConfig | EmbeddedConfig;

/** Where the embedded database lives when `--data-dir`/`SHERPANY_DATA_DIR` are not set. */
const DEFAULT_DATA_DIR = ".sherpany/data";
/** The `--data-dir` value for an embedded database kept in memory only. */
export const MEMORY_DATA_DIR = "memory://";

/** The database settings of `serve`, `migrate` and `seed`, by the key commander gives each flag's value. */
export const DATABASE_SETTINGS = {
	databaseUrl: {
		placeholder: "<url>",
		env: ["DATABASE_URL"],
		secret: true,
		description:
			"PostgreSQL URL; else PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD",
	},
	sslMode: {
		placeholder: "<mode>",
		env: ["PGSSLMODE"],
		default: "disable",
		description: SSL_MODES.join("|"),
		parse: (raw) => parseChoice(raw, SSL_MODES),
	},
	sslModeMin: {
		placeholder: "<mode>",
		env: ["PG_SSLMODE_MIN"],
		description:
			"refuse an sslmode weaker than this, wherever it is set (the URL's sslmode included)",
		parse: (raw) => parseChoice(raw, SSL_MODES),
	},
	sslRootCert: {
		placeholder: "<file>",
		env: ["PGSSLROOTCERT"],
		description:
			'CA bundle to verify the server with; "system" for the system\'s trusted roots',
	},
	poolMax: {
		placeholder: "<n>",
		env: ["PG_POOL_MAX"],
		default: DEFAULT_POOL_MAX,
		description: "most connections in the pool",
		parse: (raw) => parseInteger(raw, 1, 1000),
	},
	connectTimeoutMs: milliseconds({
		env: "PG_CONNECT_TIMEOUT_MS",
		default: DEFAULT_CONNECT_TIMEOUT_MS,
		description: "database connect timeout",
		min: 100,
		max: 600_000,
	}),
	dataDir: {
		placeholder: "<dir>",
		env: ["SHERPANY_DATA_DIR"],
		default: DEFAULT_DATA_DIR,
		description:
			"embedded PGlite data directory, used when no PostgreSQL is configured; memory:// keeps it in memory",
	},
} as const satisfies Settings;

/** The database flags as commander hands them over; absent flags are undefined. */
export type DatabaseFlags = FlagsOf<typeof DATABASE_SETTINGS>;

/** What the loader reads besides env and flags. */
export interface DatabaseConfigIo {
	readonly readFile: ReadFile;
	/** The system's trusted roots, for `sslrootcert=system`; the runtime's by default. */
	readonly systemRoots?: ReadSystemRoots;
}

/** Where a connection's parts came from, before defaults and TLS are applied. */
export interface ConnectionParts {
	host: string;
	port: number;
	database: string | undefined;
	user: string | undefined;
	password: string | undefined;
	sslMode: RawSetting | undefined;
	sslRootCert: RawSetting | undefined;
}

/**
 * Resolves the database configuration. Pure apart from reading secret and CA
 * files through `io`. Throws ConfigError naming the flag or variable at fault.
 */
export function loadDatabaseConfig(
	env: Env,
	flags: DatabaseFlags = {},
	io: DatabaseConfigIo = { readFile: readFileUtf8 },
): DatabaseConfig {
	const settings = DATABASE_SETTINGS;
	const url = pick(settings, "databaseUrl", flags, env, io.readFile);
	const parts = url ? parseDatabaseUrl(url) : readLibpqEnv(env, io.readFile);
	const minimum = pick(settings, "sslModeMin", flags, env);
	if (!parts) {
		refuseMinimumForEmbedded(minimum);
		return Object.freeze({
			kind: "embedded",
			dataDir: resolve(settings, "dataDir", flags, env),
		});
	}
	const user = parts.user ?? DEFAULT_PG_USER;
	// The URL's own sslmode and sslrootcert come after the flags and before
	// the variables, as they do in libpq.
	const tls = resolveTls(
		{
			mode:
				fromFlag(settings, "sslMode", flags) ??
				parts.sslMode ??
				fromVariables(settings, "sslMode", env) ??
				fallback(settings.sslMode.default),
			rootCert:
				fromFlag(settings, "sslRootCert", flags) ??
				parts.sslRootCert ??
				fromVariables(settings, "sslRootCert", env),
			minimum,
		},
		io,
	);
	return Object.freeze({
		kind: "postgres",
		host: parts.host,
		port: parts.port,
		database: parts.database ?? user,
		user,
		password: parts.password,
		sslMode: tls.sslMode,
		sslRootCert: tls.sslRootCert,
		poolMax: resolve(settings, "poolMax", flags, env),
		connectTimeoutMs: resolve(settings, "connectTimeoutMs", flags, env),
	});
}

/**
 * True when a URL that `new URL` rejected has an all-digit port above 65535,
 * the one mistake in a URL that the WHATWG parser reports no better than any
 * other.
 */
function hasPortOutOfRange(value: string): boolean {
	const port = value.match(
		/^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:\[[^\]/?#]*\]|[^/?#:@[\]]*):(\d+)(?:[/?#]|$)/i,
	)?.[1];
	return port !== undefined && Number(port) > 65535;
}

/** Parses `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…`. */
export function parseDatabaseUrl({
	value,
	origin,
}: RawSetting): ConnectionParts {
	let url: URL;
	try {
		url = new URL(value);
	} catch (error) {
		// The URL may hold a password: never echo it back, not even the port
		// (with an unescaped `/` in the password, the "port" is part of it).
		const reason = hasPortOutOfRange(value)
			? "has a port out of range: expected 1 to 65535"
			: "is not a valid URL";
		throw new ConfigError(
			`${origin} ${reason}, as in postgres://user:password@host:5432/database`,
			{ cause: error },
		);
	}
	if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
		throw new ConfigError(
			`${origin} must start with postgres:// or postgresql://, not ${url.protocol}//`,
		);
	}
	if (url.hostname === "")
		throw new ConfigError(
			`${origin} has no host: expected postgres://user@host/database`,
		);
	// A bad escape such as `%ZZ` makes decodeURIComponent throw URIError: say
	// which part, never its value (it may be the password).
	const decode = (part: string, what: string): string => {
		try {
			return decodeURIComponent(part);
		} catch (error) {
			throw new ConfigError(
				`${origin} has a malformed %-escape in the ${what}: write a literal % as %25`,
				{ cause: error },
			);
		}
	};
	refuseUnreadTlsParameters(url, origin);
	const database = decode(url.pathname.replace(/^\//, ""), "database name");
	// libpq takes a parameter's last value and URLSearchParams' get() the
	// first: `?sslmode=disable&sslmode=require` would mean plain text here
	// and TLS to psql. Neither is guessed.
	const param = (name: string): RawSetting | undefined => {
		const all = url.searchParams.getAll(name);
		if (all.length > 1)
			throw new ConfigError(
				`${origin} has ${name} twice (${all.join(", ")}): give it once`,
			);
		const found = all[0];
		return found ? { value: found, origin: `${origin} (${name})` } : undefined;
	};
	return {
		host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
		port: url.port
			? parsePort({ value: url.port, origin: `${origin} (port)` })
			: DEFAULT_PG_PORT,
		database: database || undefined,
		user: url.username ? decode(url.username, "user name") : undefined,
		password: url.password ? decode(url.password, "password") : undefined,
		sslMode: param("sslmode"),
		sslRootCert: param("sslrootcert"),
	};
}

/**
 * A minimum sslmode asks for TLS to a PostgreSQL server: with none
 * configured, the embedded database would be used instead, unasked.
 */
function refuseMinimumForEmbedded(minimum: RawSetting | undefined): void {
	if (minimum === undefined || parseMinimum(minimum) === "disable") return;
	throw new ConfigError(
		`${minimum.origin} is ${minimum.value}, but no PostgreSQL is configured: set DATABASE_URL (or PGHOST), or unset ${minimum.origin} to use the embedded database`,
	);
}

/**
 * TLS parameters of libpq (and node-postgres' `ssl`) that sherpany does not
 * read. Ignoring them would connect with less than they ask for: `ssl=true`
 * in plain text, `sslcrl` without checking revocation.
 */
const UNREAD_TLS_PARAMETERS = [
	"ssl",
	"requiressl",
	"sslcert",
	"sslkey",
	"sslpassword",
	"sslcrl",
	"sslcrldir",
	"sslcertmode",
	"sslnegotiation",
	"ssl_min_protocol_version",
	"ssl_max_protocol_version",
];

function refuseUnreadTlsParameters(url: URL, origin: string): void {
	const unread = UNREAD_TLS_PARAMETERS.find((name) =>
		url.searchParams.has(name),
	);
	if (unread === undefined) return;
	throw new ConfigError(
		`${origin} has the parameter ${unread}, which sherpany does not support: say what TLS you need with sslmode (require, verify-ca, verify-full) and sslrootcert`,
	);
}

/** libpq's PG* variables win over the original app's DB_* ones, one by one. */
function readLibpqEnv(
	env: Env,
	readFile: ReadFile,
): ConnectionParts | undefined {
	const host = fromEnv(env, "PGHOST", "DB_HOST");
	if (!host) return undefined;
	const port = fromEnv(env, "PGPORT", "DB_PORT");
	const password =
		readSecret(env, "PGPASSWORD", readFile) ??
		readSecret(env, "DB_PASSWORD", readFile);
	return {
		host: host.value,
		port: port ? parsePort(port) : DEFAULT_PG_PORT,
		database: fromEnv(env, "PGDATABASE", "DB_NAME")?.value,
		user: fromEnv(env, "PGUSER", "DB_USER")?.value,
		password: password?.value,
		sslMode: undefined,
		sslRootCert: undefined,
	};
}

/** A printable description of the database, with no password in it. */
export function describeDatabase(config: DatabaseConfig): string {
	if (config.kind === "embedded") {
		return config.dataDir === MEMORY_DATA_DIR
			? "embedded PGlite database in memory"
			: `embedded PGlite database in ${config.dataDir}`;
	}
	return `postgres://${config.user}@${config.host}:${config.port}/${config.database} (sslmode=${config.sslMode})`;
}
