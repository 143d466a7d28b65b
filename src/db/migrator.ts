/** Kysely's Migrator over the migrations compiled into the program. */
import type { Kysely } from "kysely";
import { type Migration, type MigrationInfo, Migrator } from "kysely/migration";
import { migrations as bundledMigrations } from "../../migrations/index.ts";

/** Builds a Migrator over a fixed set of migrations (the bundled ones by default). */
export function createMigrator<DB>(
	db: Kysely<DB>,
	migrations: Readonly<Record<string, Migration>> = bundledMigrations,
): Migrator {
	return new Migrator({
		db,
		provider: { getMigrations: async () => migrations },
	});
}

/** Names of the migrations not yet applied, in order. */
export async function findPendingMigrations(
	migrator: Migrator,
): Promise<string[]> {
	const all: readonly MigrationInfo[] = await migrator.getMigrations();
	return all
		.filter((migration) => migration.executedAt === undefined)
		.map((migration) => migration.name);
}
