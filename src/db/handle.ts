/**
 * What every database backend hands back, and the helpers the backends
 * share. `connect.ts` dispatches to the backends and the backends build on
 * this module, so the imports run one way: connect → postgres/embedded →
 * handle.
 */
import type { Kysely, LogConfig, LogEvent } from "kysely";
import type { Database } from "./schema.ts";

/** Receives every query's duration and outcome. */
export type QueryObserver = (
	durationSeconds: number,
	outcome: "success" | "error",
) => void;

/** What a connection pool reports; node-postgres' Pool has these, and the pool gauges read them. */
export interface PoolStats {
	readonly totalCount: number;
	readonly idleCount: number;
	readonly waitingCount: number;
}

export interface OpenDatabaseOptions {
	/**
	 * PostgreSQL only: a query with no answer after this long fails, so a
	 * database that hangs cannot hold a request forever. Unset for commands
	 * like migrate, whose statements may rightly take long.
	 */
	readonly queryTimeoutMs?: number;
	readonly onQuery?: QueryObserver;
	/** Errors on pooled connections, idle or in use (the server went away); they must not crash the process. */
	readonly onPoolError?: (error: Error) => void;
	/**
	 * Embedded only: called once the data directory is locked, just before
	 * PGlite opens (or, taking seconds, creates) the database.
	 */
	readonly onEmbeddedOpening?: () => void;
	/** PostgreSQL only: how the connections name themselves in `pg_stat_activity`; `sherpany` by default. */
	readonly applicationName?: string;
}

/** Which database a query, a read or a pool is about: the primary, or the read replica. */
export type DatabaseRole = "primary" | "replica";

/** An open database: the typed query builder, and the pool behind it if there is one. */
export interface DatabaseHandle {
	readonly db: Kysely<Database>;
	/**
	 * The same database for single-statement reads (the `/users` page, the
	 * export's batches): on PostgreSQL each runs with `pool.query`, which is
	 * cheaper per query than `db`'s checkout (src/db/pool-query-dialect.ts),
	 * and it has no transactions; on the embedded database it is `db`.
	 */
	readonly readDb: Kysely<Database>;
	/** The PostgreSQL pool; undefined for the embedded database. */
	readonly pool: PoolStats | undefined;
	/**
	 * Embedded only: true when opening made the database (a new data
	 * directory, or memory). It may have come with migrations applied: the
	 * shipped data directory is migrated at build time.
	 */
	readonly created?: boolean;
	/** Closes every connection and releases what the database held. Idempotent. */
	close(): Promise<void>;
}

/** Kysely's log hook, reporting each query to `onQuery`. */
export function toKyselyLog(
	onQuery: QueryObserver | undefined,
): LogConfig | undefined {
	if (!onQuery) return undefined;
	return (event: LogEvent) =>
		onQuery(
			event.queryDurationMillis / 1000,
			event.level === "error" ? "error" : "success",
		);
}

/** Wraps a close function so that calling it again returns the first call's promise. */
export function closeOnce(close: () => Promise<void>): () => Promise<void> {
	let closing: Promise<void> | undefined;
	return () => {
		closing ??= close();
		return closing;
	};
}
