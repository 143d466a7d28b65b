/**
 * Opens PostgreSQL: a node-postgres pool wrapped in Kysely. Query timings go
 * to an optional observer so metrics stay outside this module.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { PostgresConfig } from "../config/database.ts";
import {
	closeOnce,
	type DatabaseHandle,
	type OpenDatabaseOptions,
	toKyselyLog,
} from "./connect.ts";
import { nameRepeatedStatements } from "./named-statements.ts";
import type { Database } from "./schema.ts";

/** Maps libpq's sslmode onto node-postgres' TLS options. */
export function toSslOptions(config: PostgresConfig): pg.PoolConfig["ssl"] {
	const ca = config.sslRootCert;
	switch (config.sslMode) {
		case "disable":
			return false;
		case "require":
			return { rejectUnauthorized: false };
		case "verify-ca":
			// The chain is checked, the host name is not: libpq's verify-ca.
			return {
				rejectUnauthorized: true,
				ca,
				checkServerIdentity: () => undefined,
			};
		case "verify-full":
			return { rejectUnauthorized: true, ca };
	}
}

/** Opens a pooled connection to PostgreSQL. No connection is made until the first query. */
export function openPostgres(
	config: PostgresConfig,
	options: OpenDatabaseOptions = {},
): DatabaseHandle {
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
		query_timeout: options.queryTimeoutMs,
		// Notices a peer that vanished (a partition, a host gone) on idle connections.
		keepAlive: true,
		application_name: "sherpany",
	});
	pool.on("error", (error) => options.onPoolError?.(error));
	nameRepeatedStatements(pool);
	const db = new Kysely<Database>({
		dialect: new PostgresDialect({ pool }),
		log: toKyselyLog(options.onQuery),
	});
	return { db, pool, close: closeOnce(() => db.destroy()) };
}
