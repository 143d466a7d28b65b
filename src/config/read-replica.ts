/**
 * The optional read replica of `sherpany serve`: `--database-read-url` /
 * `DATABASE_READ_URL` (or `DATABASE_READ_URL_FILE`), its own pool size, the
 * lag bound beyond which reads go back to the primary, and how often the
 * replica is checked. `migrate` and `seed` never load it: they always use
 * the primary.
 */
import { ConfigError } from "../exit-codes.ts";
import {
	type DatabaseConfig,
	type DatabaseConfigIo,
	DEFAULT_POOL_MAX,
	type PostgresConfig,
	parseDatabaseUrl,
	readCaBundle,
	SSL_MODES,
} from "./database.ts";
import {
	type Env,
	fallback,
	parseChoice,
	parseInteger,
	pick,
	readFileUtf8,
	readSecret,
} from "./sources.ts";

/** Reads move to the primary when the replica is further behind than this. */
export const DEFAULT_READ_MAX_LAG_MS = 10_000;
/** How often the replica's reachability and lag are measured. */
export const DEFAULT_READ_CHECK_INTERVAL_MS = 2000;

/** A streaming replica that serves `/users` and the export. */
export interface ReadReplicaConfig {
	/** Where it is; its pool size is its own (`PG_READ_POOL_MAX`). */
	readonly postgres: PostgresConfig;
	readonly maxLagMs: number;
	readonly checkIntervalMs: number;
}

/** The read-replica flags as commander hands them over; absent flags are undefined. */
export interface ReadReplicaFlags {
	readonly databaseReadUrl?: string;
	readonly readPoolMax?: string;
	readonly readMaxLagMs?: string;
	readonly readCheckIntervalMs?: string;
}

/**
 * Resolves the read replica, or undefined when none is set. What the read
 * URL leaves out comes from the primary: with no user, the primary's user
 * and password (so `postgres://replica-host/app` reuses the primary's
 * credentials, as CloudNativePG's `-ro` service and RDS read replicas
 * expect); with the primary's user and no password, its password; with no
 * database name, the primary's; with no `sslmode`/`sslrootcert`, the
 * primary's TLS settings.
 */
export function loadReadReplicaConfig(
	env: Env,
	flags: ReadReplicaFlags,
	primary: DatabaseConfig,
	io: DatabaseConfigIo = { readFile: readFileUtf8 },
): ReadReplicaConfig | undefined {
	const url =
		pick(flags, "--database-read-url", env) ??
		readSecret(env, "DATABASE_READ_URL", io.readFile);
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
	const postgres: PostgresConfig = Object.freeze({
		kind: "postgres",
		host: target.host,
		port: target.port,
		database: target.database ?? primary.database,
		user,
		password,
		sslMode: target.sslMode
			? parseChoice(target.sslMode, SSL_MODES)
			: primary.sslMode,
		sslRootCert: target.sslRootCert
			? readCaBundle(target.sslRootCert, io.readFile)
			: primary.sslRootCert,
		poolMax: parseInteger(
			pick(flags, "--read-pool-max", env, "PG_READ_POOL_MAX") ??
				fallback(DEFAULT_POOL_MAX),
			1,
			1000,
		),
		connectTimeoutMs: primary.connectTimeoutMs,
	});
	return Object.freeze({
		postgres,
		maxLagMs: parseInteger(
			pick(flags, "--read-max-lag-ms", env, "READ_MAX_LAG_MS") ??
				fallback(DEFAULT_READ_MAX_LAG_MS),
			0,
			86_400_000,
		),
		checkIntervalMs: parseInteger(
			pick(flags, "--read-check-interval-ms", env, "READ_CHECK_INTERVAL_MS") ??
				fallback(DEFAULT_READ_CHECK_INTERVAL_MS),
			50,
			600_000,
		),
	});
}
