/**
 * Opens PostgreSQL: a node-postgres pool wrapped in Kysely. Query timings go
 * to an optional observer so metrics stay outside this module.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { PostgresConfig } from "../config/database.ts";
import { ConfigError } from "../exit-codes.ts";
import { instrumentClientQueries } from "./client-queries.ts";
import {
	closeOnce,
	type DatabaseHandle,
	type OpenDatabaseOptions,
	type PoolStats,
} from "./handle.ts";
import { PoolReads } from "./pool-query-dialect.ts";
import type { Database } from "./schema.ts";

/**
 * Maps libpq's sslmode onto node-postgres' TLS options. The root
 * certificates are always given for the verifying modes: with `ca`
 * undefined, Node would trust every public CA. As in libpq, `require` with
 * a root certificate checks the chain (verify-ca).
 */
export function toSslOptions(config: PostgresConfig): pg.PoolConfig["ssl"] {
	const ca = config.sslRootCert;
	switch (config.sslMode) {
		case "disable":
			return false;
		case "require":
			return ca === undefined ? { rejectUnauthorized: false } : chainOnly(ca);
		case "verify-ca":
			return chainOnly(requireRootCert(config, ca));
		case "verify-full":
			// Node checks the name against the host node-postgres connects to.
			return { rejectUnauthorized: true, ca: requireRootCert(config, ca) };
	}
}

/** The chain is checked, the host name is not: libpq's verify-ca. */
function chainOnly(ca: string): pg.PoolConfig["ssl"] {
	return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
}

function requireRootCert(
	config: PostgresConfig,
	ca: string | undefined,
): string {
	if (ca === undefined)
		throw new ConfigError(
			`sslmode=${config.sslMode} needs a root certificate to verify the server with: set PGSSLROOTCERT or --ssl-root-cert`,
		);
	return ca;
}

/** An open PostgreSQL database, which always has a pool. */
export type PostgresHandle = DatabaseHandle & { readonly pool: PoolStats };

/** Opens a pooled connection to PostgreSQL. No connection is made until the first query. */
export function openPostgres(
	config: PostgresConfig,
	options: OpenDatabaseOptions = {},
): PostgresHandle {
	const pool = new pg.Pool({
		host: config.host,
		port: config.port,
		database: config.database,
		user: config.user,
		password: config.password,
		ssl: toSslOptions(config),
		max: config.poolMax,
		connectionTimeoutMillis: config.connectTimeoutMs,
		idleTimeoutMillis: 30_000,
		// Notices a peer that vanished (a partition, a host gone) on idle connections.
		keepAlive: true,
		application_name: options.applicationName ?? "sherpany",
	});
	// node-postgres' pool listens for a client's 'error' only while the
	// client is idle; from checkout until release (Kysely holds it across a
	// query and a transaction) nobody does, and a server that dies then
	// (57P01, a reset socket) would crash the process with "Unhandled 'error'
	// event". So every client gets a listener for its whole life, as soon as
	// it connects. The failed query still rejects on its own, and the pool
	// drops the broken client when it is released or found idle.
	pool.on("connect", (client) => {
		client.on("error", (error) => options.onPoolError?.(error));
	});
	// The pool re-emits an idle client's error, already reported above.
	pool.on("error", () => {});
	// Statement names, the query timeout and the query metrics, on every
	// client: cheaper there than node-postgres' query_timeout and Kysely's log.
	instrumentClientQueries(pool, {
		...(options.queryTimeoutMs === undefined
			? {}
			: { timeoutMs: options.queryTimeoutMs }),
		...(options.onQuery ? { onQuery: options.onQuery } : {}),
	});
	const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
	const readDb = new PoolReads<Database>(pool);
	return { db, readDb, pool, close: closeOnce(() => db.destroy()) };
}
