/**
 * Opens the configured database: PostgreSQL through a node-postgres pool, or
 * the embedded PGlite. The PGlite code is imported only when it is used.
 */
import type { DatabaseConfig } from "../config/database.ts";
import type { DatabaseHandle, OpenDatabaseOptions } from "./handle.ts";

export type { DatabaseHandle, OpenDatabaseOptions } from "./handle.ts";

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
