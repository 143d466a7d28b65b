/**
 * Opens the database: a node-postgres pool wrapped in Kysely. Query timings
 * go to an optional observer so metrics stay outside this module.
 */
import { Kysely, type LogEvent, PostgresDialect } from "kysely";
import pg from "pg";
import type { PostgresConfig } from "../config/database.ts";
import type { Database } from "./schema.ts";

/** Receives every query's duration and outcome. */
export type QueryObserver = (
	durationSeconds: number,
	outcome: "success" | "error",
) => void;

export interface OpenDatabaseOptions {
	readonly onQuery?: QueryObserver;
	/** Errors from idle pooled connections (the server went away); they must not crash the process. */
	readonly onPoolError?: (error: Error) => void;
}

/** An open database: the typed query builder and the pool behind it. */
export interface DatabaseHandle {
	readonly db: Kysely<Database>;
	readonly pool: pg.Pool;
	/** Closes every connection. Idempotent. */
	close(): Promise<void>;
}

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
export function openDatabase(
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
		application_name: "sherpany",
	});
	pool.on("error", (error) => options.onPoolError?.(error));
	const { onQuery } = options;
	const db = new Kysely<Database>({
		dialect: new PostgresDialect({ pool }),
		log: onQuery
			? (event: LogEvent) =>
					onQuery(
						event.queryDurationMillis / 1000,
						event.level === "error" ? "error" : "success",
					)
			: undefined,
	});
	let closing: Promise<void> | undefined;
	return {
		db,
		pool,
		close: () => {
			closing ??= db.destroy();
			return closing;
		},
	};
}
