/**
 * The optional read replica of `sherpany serve`: `--database-read-url` /
 * `DATABASE_READ_URL` (or `DATABASE_READ_URL_FILE`), its own pool size, the
 * lag bound beyond which reads go back to the primary, and how often the
 * replica is checked. `migrate` and `seed` never load it: they always use
 * the primary.
 */
import { ConfigError } from "../exit-codes.ts";
import {
	DATABASE_SETTINGS,
	type DatabaseConfig,
	type DatabaseConfigIo,
	type DatabaseFlags,
	DEFAULT_POOL_MAX,
	type PostgresConfig,
	parseDatabaseUrl,
} from "./database.ts";
import { resolveTls } from "./database-tls.ts";
import { milliseconds } from "./durations.ts";
import {
	type FlagsOf,
	fromFlag,
	pick,
	resolve,
	type Settings,
} from "./setting.ts";
import { type Env, parseInteger, readFileUtf8 } from "./values.ts";

/** Reads move to the primary when the replica is further behind than this. */
const DEFAULT_READ_MAX_LAG_MS = 10_000;
/** How often the replica's reachability and lag are measured. */
const DEFAULT_READ_CHECK_INTERVAL_MS = 2000;

/** A streaming replica that serves `/users` and the export. */
export interface ReadReplicaConfig {
	/** Where it is; its pool size is its own (`PG_READ_POOL_MAX`). */
	readonly postgres: PostgresConfig;
	readonly maxLagMs: number;
	readonly checkIntervalMs: number;
}

/** The read-replica settings of `serve`, by the key commander gives each flag's value. */
export const READ_REPLICA_SETTINGS = {
	databaseReadUrl: {
		placeholder: "<url>",
		env: ["DATABASE_READ_URL"],
		secret: true,
		description:
			"streaming replica for /users and the export; user, password, database and TLS default to the primary's",
	},
	readPoolMax: {
		placeholder: "<n>",
		env: ["PG_READ_POOL_MAX"],
		default: DEFAULT_POOL_MAX,
		description: "most connections in the replica's pool",
		parse: (raw) => parseInteger(raw, 1, 1000),
	},
	readMaxLagMs: milliseconds({
		env: "READ_MAX_LAG_MS",
		default: DEFAULT_READ_MAX_LAG_MS,
		description: "read from the primary while the replica is further behind",
		min: 0,
		max: 86_400_000,
	}),
	readCheckIntervalMs: milliseconds({
		env: "READ_CHECK_INTERVAL_MS",
		default: DEFAULT_READ_CHECK_INTERVAL_MS,
		description: "how often the replica's lag is checked",
		min: 50,
		max: 600_000,
	}),
} as const satisfies Settings;

/** The read-replica flags as commander hands them over; absent flags are undefined. */
export type ReadReplicaFlags = FlagsOf<typeof READ_REPLICA_SETTINGS>;

/**
 * Resolves the read replica, or undefined when none is set. What the read
 * URL leaves out comes from the primary: with no user, the primary's user
 * and password (so `postgres://replica-host/app` reuses the primary's
 * credentials, as CloudNativePG's `-ro` service and RDS read replicas
 * expect); with the primary's user and no password, its password; with no
 * database name, the primary's; with no `sslmode`/`sslrootcert`, the
 * primary's TLS settings. As for the primary, `--ssl-mode` and
 * `--ssl-root-cert` win over the URL's, and the minimum sslmode
 * (`--ssl-mode-min`/`PG_SSLMODE_MIN`) holds for the replica too: reads get
 * no weaker TLS than was asked for.
 */
export function loadReadReplicaConfig(
	env: Env,
	flags: ReadReplicaFlags & DatabaseFlags,
	primary: DatabaseConfig,
	io: DatabaseConfigIo = { readFile: readFileUtf8 },
): ReadReplicaConfig | undefined {
	const settings = READ_REPLICA_SETTINGS;
	const url = pick(settings, "databaseReadUrl", flags, env, io.readFile);
	if (!url) return undefined;
	if (primary.kind !== "postgres") {
		throw new ConfigError(
			`${url.origin} is set, but there is no PostgreSQL primary: set DATABASE_URL (or PGHOST) too; the embedded database has no replicas`,
		);
	}
	const target = parseDatabaseUrl(url);
	const user = target.user ?? primary.user;
	const password =
		target.password ?? (user === primary.user ? primary.password : undefined);
	const database = DATABASE_SETTINGS;
	const tls = resolveTls(
		{
			mode: fromFlag(database, "sslMode", flags) ??
				target.sslMode ?? {
					value: primary.sslMode,
					origin: `${url.origin} (the primary's sslmode)`,
				},
			rootCert: fromFlag(database, "sslRootCert", flags) ?? target.sslRootCert,
			inheritedRootCert: primary.sslRootCert,
			minimum: pick(database, "sslModeMin", flags, env),
		},
		io,
	);
	const postgres: PostgresConfig = Object.freeze({
		kind: "postgres",
		host: target.host,
		port: target.port,
		database: target.database ?? primary.database,
		user,
		password,
		sslMode: tls.sslMode,
		sslRootCert: tls.sslRootCert,
		poolMax: resolve(settings, "readPoolMax", flags, env),
		connectTimeoutMs: primary.connectTimeoutMs,
	});
	return Object.freeze({
		postgres,
		maxLagMs: resolve(settings, "readMaxLagMs", flags, env),
		checkIntervalMs: resolve(settings, "readCheckIntervalMs", flags, env),
	});
}
