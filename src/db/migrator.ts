/**
 * Kysely's Migrator over the migrations compiled into the program.
 *
 * Migrations are forward-only: each has an `up` and no `down`, and
 * `sherpany migrate` only ever applies what is pending. A change is undone by
 * a new migration that reverses it, never by rolling one back, so every
 * database that ran a name ran the same statements.
 */
import { type Kysely, sql } from "kysely";
import {
	DEFAULT_MIGRATION_TABLE,
	type MigrateOptions,
	type Migration,
	type MigrationInfo,
	type MigrationResultSet,
	Migrator,
} from "kysely/migration";
import { migrations as bundledMigrations } from "../../migrations/index.ts";

/**
 * Kysely's Migrator, told the state of the schema by one cheap query.
 * Kysely's own tells whether its table exists by introspecting every column
 * of every table (with `pg_get_serial_sequence` and `col_description` per
 * column), once in `getMigrations` and twice more in `migrateToLatest`:
 * most of `migrate`'s time with nothing to do, of the embedded database's
 * every start, and of each `/ready`. `to_regclass` answers the same
 * question for the table the Migrator's unqualified queries use.
 */
class QuickMigrator extends Migrator {
	readonly #db: Kysely<unknown>;
	readonly #migrations: Readonly<Record<string, Migration>>;

	constructor(
		db: Kysely<unknown>,
		migrations: Readonly<Record<string, Migration>>,
	) {
		super({ db, provider: { getMigrations: async () => migrations } });
		this.#db = db;
		this.#migrations = migrations;
	}

	/** What Kysely's returns: every migration, sorted by name, with when it was applied. */
	override async getMigrations(): Promise<readonly MigrationInfo[]> {
		const applied = await this.#readApplied();
		return Object.keys(this.#migrations)
			.sort()
			.map((name) => {
				const timestamp = applied?.get(name);
				return {
					name,
					migration: this.#migrations[name] as Migration,
					executedAt: timestamp === undefined ? undefined : new Date(timestamp),
				};
			});
	}

	/**
	 * Kysely's, skipped when the table records exactly this program's
	 * migrations: then Kysely's would apply nothing either. Anything else
	 * (pending, or recorded but unknown: an older program) goes to Kysely's,
	 * which applies the pending ones or reports the error.
	 */
	override async migrateToLatest(
		options?: MigrateOptions,
	): Promise<MigrationResultSet> {
		let applied: Map<string, string> | undefined;
		try {
			applied = await this.#readApplied();
		} catch (error) {
			// Like Kysely's: a failure is reported in the result, never thrown.
			return { error };
		}
		const names = Object.keys(this.#migrations);
		const upToDate =
			applied !== undefined &&
			applied.size === names.length &&
			names.every((name) => applied.has(name));
		return upToDate ? { results: [] } : super.migrateToLatest(options);
	}

	/** Name to timestamp of the applied migrations; undefined when there is no migration table yet. */
	async #readApplied(): Promise<Map<string, string> | undefined> {
		const { rows } = await sql<{ exists: boolean }>`
			select to_regclass(${DEFAULT_MIGRATION_TABLE}) is not null as exists
		`.execute(this.#db);
		if (!rows[0]?.exists) return undefined;
		const applied = await sql<{ name: string; timestamp: string }>`
			select name, timestamp from ${sql.table(DEFAULT_MIGRATION_TABLE)}
		`.execute(this.#db);
		return new Map(applied.rows.map((row) => [row.name, row.timestamp]));
	}
}

/** Builds a Migrator over a fixed set of migrations (the bundled ones by default). */
export function createMigrator<DB>(
	db: Kysely<DB>,
	migrations: Readonly<Record<string, Migration>> = bundledMigrations,
): Migrator {
	return new QuickMigrator(db as Kysely<unknown>, migrations);
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
