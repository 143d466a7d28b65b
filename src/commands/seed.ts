/**
 * `sherpany seed`: inserts the sample users (idempotent); `--count N` adds N
 * synthetic users; `--file` imports a CSV or NDJSON file in one transaction.
 */
import { randomBytes } from "node:crypto";
import { accessSync, constants, statSync } from "node:fs";
import type { Kysely } from "kysely";
import type { DatabaseConfig } from "../config/database.ts";
import type { SeedInput } from "../config/seed.ts";
import { openDatabase } from "../db/connect.ts";
import { createMigrator, findPendingMigrations } from "../db/migrator.ts";
import { prepareEmbeddedDatabase } from "../db/prepare-embedded.ts";
import type { Database } from "../db/schema.ts";
import {
	insertSampleUsers,
	insertSyntheticUsers,
	SAMPLE_USERS,
} from "../db/users.ts";
import { errorReason } from "../error-code.ts";
import { CommandError, ConfigError } from "../exit-codes.ts";
import { createProgress, type ProgressStream } from "../progress.ts";
import { importUsers } from "../seed/import-users.ts";
import { readUserRows } from "../seed/read-users.ts";

/** Synthetic users inserted per statement: large enough to be fast, small enough to show progress. */
export const SYNTHETIC_BATCH_SIZE = 10_000;

export interface SeedOptions {
	readonly database: DatabaseConfig;
	readonly input: SeedInput;
}

export interface SeedDeps {
	/** Prints one line of output (the summary). */
	readonly print: (line: string) => void;
	/** Says what else happened on the way (the embedded database migrated itself). */
	readonly notify?: (line: string) => void;
	/** Where progress is drawn when it is a terminal (stderr). */
	readonly progress: ProgressStream;
}

/** Seeds `options.database`; a file's input has passed checkSeedInput already. */
export async function run(options: SeedOptions, deps: SeedDeps): Promise<void> {
	const { input } = options;
	const fileOrigin = (input.kind === "file" && input.origin) || "--file";
	const database = await openDatabase(options.database);
	try {
		const { db } = database;
		if (options.database.kind === "embedded") {
			// Like serve: the embedded database has no operator to run migrate.
			const { applied } = await prepareEmbeddedDatabase(
				db,
				createMigrator(db),
				{ seedWhenNew: false, created: database.created },
			);
			if (applied.length > 0)
				deps.notify?.(
					`migrated the embedded database: applied ${applied.join(", ")}`,
				);
		} else {
			await requireCurrentSchema(db);
		}
		const started = performance.now();
		const elapsed = (): string =>
			`${((performance.now() - started) / 1000).toFixed(1)} s`;
		switch (input.kind) {
			case "sample": {
				const inserted = await insertSampleUsers(db);
				deps.print(
					`sample users: ${inserted} inserted, ${SAMPLE_USERS.length - inserted} already present`,
				);
				return;
			}
			case "count": {
				const inserted = await seedSynthetic(db, input.count, deps.progress);
				deps.print(`inserted ${inserted} synthetic users in ${elapsed()}`);
				return;
			}
			case "file": {
				const progress = createProgress(deps.progress, "rows read");
				const result = await importUsers(
					db,
					readUserRows(input.path, input.format, fileOrigin),
					progress.update,
				);
				progress.finish();
				if (result.errorCount > 0) {
					const lines = result.errors.map(
						(error) => `  line ${error.line}: ${error.message}`,
					);
					const more = result.errorCount - result.errors.length;
					if (more > 0) lines.push(`  … and ${more} more`);
					throw new CommandError(
						`${input.path}: ${result.errorCount} bad row(s) of ${result.rows}; nothing was imported\n${lines.join("\n")}`,
					);
				}
				deps.print(
					`imported ${result.imported} users from ${input.path} in ${elapsed()}`,
				);
				return;
			}
		}
	} finally {
		await database.close();
	}
}

/** Inserts `count` users in set-based batches, drawing progress between them. */
async function seedSynthetic(
	db: Kysely<Database>,
	count: number,
	stream: ProgressStream,
): Promise<number> {
	// 64 random bits: two runs drawing the same id (and so the same emails) is
	// not a case to plan for.
	const runId = randomBytes(8).toString("hex");
	const progress = createProgress(stream, "users inserted", count);
	let inserted = 0;
	for (let first = 1; first <= count; first += SYNTHETIC_BATCH_SIZE) {
		inserted += await insertSyntheticUsers(
			db,
			runId,
			first,
			Math.min(SYNTHETIC_BATCH_SIZE, count - first + 1),
		);
		progress.update(inserted);
	}
	progress.finish();
	return inserted;
}

async function requireCurrentSchema(db: Kysely<Database>): Promise<void> {
	const pending = await findPendingMigrations(createMigrator(db));
	if (pending.length > 0) {
		throw new CommandError(
			`the schema is not up to date (pending: ${pending.join(", ")}): run sherpany migrate first`,
		);
	}
}

/**
 * Fails early, as bad configuration, on a `--file` that cannot be read at
 * all: before any database is opened (or, embedded, created).
 */
export function checkSeedInput(input: SeedInput): void {
	if (input.kind === "file")
		checkReadable(input.path, input.origin || "--file");
}

function checkReadable(path: string, origin: string): void {
	let isDirectory: boolean;
	try {
		accessSync(path, constants.R_OK);
		isDirectory = statSync(path).isDirectory();
	} catch (error) {
		throw new ConfigError(
			`${origin}: cannot read ${path} (${errorReason(error)})`,
			{ cause: error },
		);
	}
	// A named pipe or /dev/stdin can be read, a directory cannot.
	if (isDirectory) throw new ConfigError(`${origin}: ${path} is not a file`);
}
