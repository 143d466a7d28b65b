/**
 * Opens the configured database: PostgreSQL through a node-postgres pool, or
 * the embedded PGlite. The PGlite code is imported only when it is used.
 */
import type { Kysely, LogConfig, LogEvent } from "kysely";
import type { DatabaseConfig } from "../config/database.ts";
import type { PoolStats } from "../metrics.ts";
import type { Database } from "./schema.ts";

/** Receives every query's duration and outcome. */
export type QueryObserver = (
	durationSeconds: number,
	outcome: "success" | "error",
) => void;

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

/** An open database: the typed query builder, and the pool behind it if there is one. */
export interface DatabaseHandle {
	readonly db: Kysely<Database>;
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

/** Opens the database `config` names. */
export async function openDatabase(
	config: DatabaseConfig,
	options: OpenDatabaseOptions = {},
): Promise<DatabaseHandle> {
	if (config.kind === "embedded") {
		const { openEmbedded } = await import("./embedded.ts");
		return openEmbedded(config, options);
	}
	const { openPostgres } = await import("./postgres.ts");
	return openPostgres(config, options);
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
