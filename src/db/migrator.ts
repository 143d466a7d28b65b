/**
 * Kysely's Migrator over the migrations compiled into the program.
 *
 * Migrations are forward-only: each has an `up` and no `down`, and
 * `sherpany migrate` only ever applies what is pending. A change is undone by
 * a new migration that reverses it, never by rolling one back, so every
 * database that ran a name ran the same statements.
 */
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

/** Every migration in order, applied or not, and the names of those not yet applied. */
export interface MigrationStatus {
	readonly all: readonly MigrationInfo[];
	readonly pending: readonly string[];
}

/** Reads which migrations the database has applied: the one place that tells pending from applied. */
export async function readMigrationStatus(
	migrator: Migrator,
): Promise<MigrationStatus> {
	const all = await migrator.getMigrations();
	const pending = all
		.filter((migration) => migration.executedAt === undefined)
		.map((migration) => migration.name);
	return { all, pending };
}

/** Names of the migrations not yet applied, in order. */
export async function findPendingMigrations(
	migrator: Migrator,
): Promise<readonly string[]> {
	return (await readMigrationStatus(migrator)).pending;
}
