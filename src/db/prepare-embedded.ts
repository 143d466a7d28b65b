/**
 * The embedded database migrates itself whenever a command that needs the
 * schema (`serve`, `seed`) opens it: it has no operator to run `migrate`.
 * `serve` also gives a new one (no migration applied yet) the sample users,
 * so that a first run shows data.
 */
import type { Kysely } from "kysely";
import type { Migrator } from "kysely/migration";
import type { DatabaseHandle } from "./handle.ts";
import { readMigrationStatus } from "./migrator.ts";
import type { Database } from "./schema.ts";
import { insertSampleUsers } from "./users.ts";

export interface PrepareEmbeddedOptions {
	/** Insert the sample users when the database is new (what `serve` wants). */
	readonly seedWhenNew: boolean;
	/**
	 * Opening just made the database ({@link DatabaseHandle.created}). The
	 * migrations it came with (the shipped data directory is migrated at
	 * build time) count as applied now, and it is new, as one initdb made is.
	 */
	readonly created?: boolean;
}

/** What preparing did, for the caller to report. */
export interface EmbeddedPreparation {
	/** The migrations applied just now (or with the new database), in order; empty when it was up to date. */
	readonly applied: readonly string[];
	/** Sample users inserted into a new database; undefined when none were due. */
	readonly sampleUsersInserted: number | undefined;
}

/** Migrates the embedded database to the latest schema and, if asked, seeds a new one. */
export async function prepareEmbeddedDatabase(
	db: Kysely<Database>,
	migrator: Migrator,
	options: PrepareEmbeddedOptions,
): Promise<EmbeddedPreparation> {
	const { all, pending } = await readMigrationStatus(migrator);
	const isNew = options.created === true || pending.length === all.length;
	const cameWith = options.created
		? all
				.filter((migration) => migration.executedAt !== undefined)
				.map((migration) => migration.name)
		: [];
	const { error, results = [] } = await migrator.migrateToLatest();
	if (error) throw error;
	const applied = [
		...cameWith,
		...results.map((result) => result.migrationName),
	];
	const sampleUsersInserted =
		isNew && options.seedWhenNew ? await insertSampleUsers(db) : undefined;
	return { applied, sampleUsersInserted };
}
