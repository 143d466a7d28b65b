/**
 * The embedded database's files are private to their owner, as PostgreSQL
 * requires of a data directory: they hold pg_hba.conf and the WAL, where
 * every row can be read. The directory is made 0700 (and its files 0600,
 * private-node-fs.ts) whatever the umask, and a database in a directory
 * that other users can read or write is refused, as PostgreSQL refuses
 * one, with the command that fixes it.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { errorReason } from "../error-code.ts";
import { CommandError, ConfigError } from "../exit-codes.ts";

/** The owner's bits only: the mode of a directory sherpany makes, and the most a data directory may have. */
export const PRIVATE_DIR_MODE = 0o700;
/**
 * The umask the embedded database runs under, PostgreSQL's own: the files
 * and directories PGlite makes (a new database's base/<oid>, say) are
 * private before private-node-fs.ts sets their modes.
 */
export const PRIVATE_UMASK = 0o077;
/** The group's and others' bits. */
const OTHERS = 0o077;

/** Whether a platform has Unix modes to check (Windows has none). */
const HAS_MODES = process.platform !== "win32";

/** A mode without the group's and others' bits. */
export function privateMode(mode: number): number {
	return mode & ~OTHERS;
}

/** Makes `dataDir` and the parents it lacks (`.sherpany/`, say), 0700. */
export function createPrivateDirectory(dataDir: string): void {
	try {
		mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
	} catch (error) {
		throw new CommandError(
			`cannot create the data directory ${dataDir} (${errorReason(error)}): pass --data-dir (SHERPANY_DATA_DIR) to use another`,
			{ cause: error },
		);
	}
}

/**
 * Checks that other users can neither read nor write `dataDir`. One that
 * holds no database yet (an empty volume) is made private, as initdb does
 * with an existing directory; one that holds a database is refused, never
 * changed behind the operator's back.
 */
export function requirePrivateDataDir(dataDir: string): void {
	if (!HAS_MODES) return;
	const mode = statSync(dataDir).mode & 0o777;
	if ((mode & OTHERS) === 0) return;
	if (existsSync(join(dataDir, "PG_VERSION"))) {
		throw new ConfigError(
			`the data directory ${dataDir} holds a database that other users can read or write (mode ${octal(mode)}): a data directory must be private to its owner, as PostgreSQL requires; run chmod -R go-rwx ${dataDir} (earlier sherpany versions made data directories open to others)`,
		);
	}
	try {
		chmodSync(dataDir, privateMode(mode));
	} catch (error) {
		throw new ConfigError(
			`the data directory ${dataDir} can be read or written by other users (mode ${octal(mode)}) and cannot be made private (${errorReason(error)}): run chmod go-rwx ${dataDir}, or pass --data-dir (SHERPANY_DATA_DIR) a directory of your own`,
			{ cause: error },
		);
	}
}

function octal(mode: number): string {
	return `0${mode.toString(8)}`;
}
