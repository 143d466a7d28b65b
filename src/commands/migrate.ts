/**
 * `sherpany migrate` applies pending migrations; `sherpany migrate status`
 * lists applied and pending ones. Kysely's Migrator holds a database-level
 * lock, so several processes racing on one database each succeed and every
 * migration is applied once.
 */
import type { Migration } from "kysely/migration";
import type { DatabaseConfig } from "../config/database.ts";
import { openDatabase } from "../db/connect.ts";
import { createMigrator, readMigrationStatus } from "../db/migrator.ts";
import { CommandError } from "../exit-codes.ts";

export type MigrateAction = "latest" | "status";

export interface MigrateOptions {
	readonly database: DatabaseConfig;
	readonly action: MigrateAction;
}

export interface MigrateDeps {
	/** Prints one line of output for the operator. */
	readonly print: (line: string) => void;
	/** The migrations to apply; the ones compiled into the program by default. */
	readonly migrations?: Readonly<Record<string, Migration>>;
}

export async function run(
	options: MigrateOptions,
	deps: MigrateDeps,
): Promise<void> {
	const database = await openDatabase(options.database);
	try {
		const migrator = createMigrator(database.db, deps.migrations);
		if (options.action === "status") {
			const { all, pending } = await readMigrationStatus(migrator);
			for (const migration of all) {
				const state = migration.executedAt
					? `applied ${migration.executedAt.toISOString()}`
					: "pending";
				deps.print(`${migration.name}  ${state}`);
			}
			deps.print(
				`${all.length - pending.length} applied, ${pending.length} pending`,
			);
			return;
		}
		const { error, results = [] } = await migrator.migrateToLatest();
		for (const result of results) {
			if (result.status === "Success")
				deps.print(`applied ${result.migrationName}`);
			if (result.status === "Error")
				deps.print(`failed ${result.migrationName}`);
		}
		if (error) {
			const failed = results.find(
				(result) => result.status === "Error",
			)?.migrationName;
			// Failing before any migration ran (connecting, TLS, the lock) is
			// left to the CLI, which names the database it could not use.
			if (!failed) throw error;
			throw new CommandError(
				`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
				{ cause: error },
			);
		}
		const applied = results.filter(
			(result) => result.status === "Success",
		).length;
		deps.print(
			applied === 0
				? "the database is up to date"
				: `applied ${applied} migration(s); the database is up to date`,
		);
	} finally {
		await database.close();
	}
}
