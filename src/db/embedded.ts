/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a
 * data directory, or in memory, behind the same Kysely interface as
 * PostgreSQL. One process per directory, enforced by a lock.
 */
import { accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect } from "kysely";
import { type EmbeddedConfig, MEMORY_DATA_DIR } from "../config/database.ts";
import { embeddedDatabaseExists } from "../config/embedded-state.ts";
import { errorReason } from "../error-code.ts";
import { CommandError } from "../exit-codes.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import {
	createPrivateDirectory,
	PRIVATE_UMASK,
	requirePrivateDataDir,
} from "./data-dir-mode.ts";
import { extractDataDir } from "./data-dir-tarball.ts";
import {
	closeOnce,
	type DatabaseHandle,
	type OpenDatabaseOptions,
	toKyselyLog,
} from "./handle.ts";
import { loadPgliteAssets, readShippedDataDir } from "./pglite-assets.ts";
import { PrivateNodeFS } from "./private-node-fs.ts";
import type { Database } from "./schema.ts";

/**
 * PostgreSQL's buffer pool in the embedded database. PGlite's WebAssembly
 * memory holds the whole pool from the start, so PostgreSQL's own default
 * (128MB) would be resident in every process; the embedded database is for
 * one developer's data, and PostgreSQL is for more (bench/RESULTS.md has the
 * memory it saves).
 */
const SHARED_BUFFERS = "16MB";

/**
 * Opens (creating if needed) the embedded database. A new one is unpacked
 * from `shippedDataDir` (a tar of a new, migrated data directory, see
 * make-data-dir-tarball.ts) when there is one, else made by PGlite's
 * initdb, which takes seconds.
 */
export async function openEmbedded(
	config: EmbeddedConfig,
	options: OpenDatabaseOptions = {},
	shippedDataDir: () => Uint8Array | undefined = readShippedDataDir,
): Promise<DatabaseHandle> {
	const inMemory = config.dataDir === MEMORY_DATA_DIR;
	const dataDir = inMemory ? undefined : resolve(config.dataDir);
	let lock: DataDirLock | undefined;
	if (dataDir) {
		// For the whole process, as PostgreSQL sets it: PGlite writes the
		// database's files as they come, at any time.
		process.umask(PRIVATE_UMASK);
		createPrivateDirectory(dataDir);
		checkWritable(dataDir);
		requirePrivateDataDir(dataDir);
		lock = await lockDataDir(dataDir);
	}
	try {
		options.onEmbeddedOpening?.();
		const isNew = !embeddedDatabaseExists(config);
		const tarball = isNew ? shippedDataDir() : undefined;
		// On disk it is unpacked directly (much faster than PGlite's
		// loadDataDir, see data-dir-tarball.ts); in memory PGlite loads it.
		if (tarball && dataDir) extractDataDir(tarball, dataDir);
		const pglite = await PGlite.create({
			...(dataDir ? { fs: new PrivateNodeFS(dataDir) } : {}),
			startParams: [
				...PGlite.defaultStartParams,
				"-c",
				`shared_buffers=${SHARED_BUFFERS}`,
			],
			...(tarball && !dataDir ? { loadDataDir: new Blob([tarball]) } : {}),
			...(await loadPgliteAssets({ withInitdb: isNew && !tarball })),
		});
		const db = new Kysely<Database>({
			dialect: new PGliteDialect({ pglite }),
			log: toKyselyLog(options.onQuery),
		});
		const close = async (): Promise<void> => {
			try {
				await db.destroy();
			} finally {
				await lock?.release();
			}
		};
		return {
			db,
			readDb: db,
			pool: undefined,
			created: isNew,
			close: closeOnce(close),
		};
	} catch (error) {
		await lock?.release();
		throw error;
	}
}

/**
 * PGlite reports a directory it cannot write to with a bare object, not an
 * Error ("unexpected error: [object Object]"), so check first and say what
 * to do: a read-only root filesystem (a container) needs a volume there.
 */
function checkWritable(dataDir: string): void {
	try {
		accessSync(dataDir, constants.W_OK);
	} catch (error) {
		throw new CommandError(
			`the data directory ${dataDir} is not writable (${errorReason(error)}): mount a writable volume there, or pass --data-dir (SHERPANY_DATA_DIR) to use another`,
			{ cause: error },
		);
	}
}
