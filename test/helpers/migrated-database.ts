/** "A migrated database": the set-up most database suites start from. */
import type { Kysely } from "kysely";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { createMigrator } from "../../src/db/migrator.ts";
import type { Database } from "../../src/db/schema.ts";
import type { PostgresCluster } from "./postgres.ts";

/**
 * A new database on `cluster`, migrated to the latest schema; `fill` adds
 * rows before the connection closes. Returns its URL.
 */
export async function createMigratedDatabase(
	cluster: Pick<PostgresCluster, "createDatabase">,
	fill?: (db: Kysely<Database>) => Promise<unknown>,
): Promise<string> {
	const url = await cluster.createDatabase();
	const handle = await openDatabase(loadDatabaseConfig({ DATABASE_URL: url }));
	try {
		const { error } = await createMigrator(handle.db).migrateToLatest();
		if (error) throw error;
		await fill?.(handle.db);
	} finally {
		await handle.close();
	}
	return url;
}
