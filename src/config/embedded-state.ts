/**
 * Whether the embedded database already exists, told without loading PGlite,
 * so that a command can say what the next (possibly long) step is before it
 * starts: creating a new database runs PGlite's initdb, which takes seconds.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type EmbeddedConfig, MEMORY_DATA_DIR } from "./database.ts";

/** True when `config` names a data directory that already holds a database. */
export function embeddedDatabaseExists(config: EmbeddedConfig): boolean {
	if (config.dataDir === MEMORY_DATA_DIR) return false;
	// initdb writes PG_VERSION; a directory without it is new (or empty).
	// PGlite tells a new data directory the same way.
	return existsSync(join(resolve(config.dataDir), "PG_VERSION"));
}

/** What opening the embedded database is about to do, as a clause for a log line. */
export function describeEmbeddedOpening(config: EmbeddedConfig): string {
	if (config.dataDir === MEMORY_DATA_DIR) return "creating it in memory…";
	return embeddedDatabaseExists(config)
		? `opening it in ${config.dataDir}…`
		: `creating it in ${config.dataDir}, which takes several seconds the first time…`;
}

/**
 * The notice a command gives when no database is configured: which database
 * it uses instead (`describeDatabase`'s words, such as "embedded PGlite
 * database in .sherpany/data") and how to use PostgreSQL.
 */
export function describeEmbeddedFallback(
	database = "embedded PGlite database",
): string {
	return `no database configured: using the ${database}; set DATABASE_URL (or PGHOST) to use PostgreSQL`;
}
