/**
 * The embedded database is the one that `serve` migrates itself. A new one
 * (no migration applied yet) also gets the sample users, so a first run
 * shows data.
 */
import type { Kysely } from "kysely";
import type { Migrator } from "kysely/migration";
import type { Logger } from "pino";
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import type { Database } from "./schema.ts";
import { insertSampleUsers } from "./users.ts";

export async function prepareEmbeddedDatabase(
	db: Kysely<Database>,
	migrator: Migrator,
	config: DatabaseConfig,
	logger: Logger,
): Promise<void> {
	logger.info(
		{ database: describeDatabase(config) },
		"no database configured: using the embedded PGlite database; set DATABASE_URL (or PGHOST) to use PostgreSQL",
	);
	const isNew = (await migrator.getMigrations()).every(
		(migration) => migration.executedAt === undefined,
	);
	const { error, results = [] } = await migrator.migrateToLatest();
	if (error) throw error;
	const applied = results.map((result) => result.migrationName);
	if (applied.length > 0) {
		logger.info({ applied }, "migrated the embedded database");
	}
	if (isNew) {
		const inserted = await insertSampleUsers(db);
		logger.info(
			{ inserted },
			"seeded the new embedded database with the sample users",
		);
	}
}
