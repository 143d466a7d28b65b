/**
 * An exclusive lock held by the kernel on a file, without a native add-on.
 * Node has no flock() or fcntl() of its own, but its built-in SQLite
 * (node:sqlite, also in Deno) locks its database file with fcntl() record
 * locks: a connection in `locking_mode=EXCLUSIVE` that begins an exclusive
 * transaction keeps a write lock on the file until it closes. Such a lock
 * belongs to the file, not to a name in a namespace, so every process that
 * opens the same file sees it: two containers sharing a volume, in separate
 * network and mount namespaces, included. The kernel drops it when the
 * holder dies, SIGKILL included, so it is never stale.
 */
import { DatabaseSync } from "node:sqlite";

/** A held lock; `release` is idempotent. */
export interface FileLock {
	release(): void;
}

/** SQLite's SQLITE_BUSY: another connection holds the lock. */
const SQLITE_BUSY = 5;

/** Node gives SQLite's code; Deno (2.9) only its message, "database is locked". */
function isBusy(error: unknown): boolean {
	const { errcode, message } = error as {
		errcode?: unknown;
		message?: unknown;
	};
	return errcode === undefined
		? message === "database is locked"
		: errcode === SQLITE_BUSY;
}

/**
 * Takes the lock on `path` (made if missing, an empty SQLite database),
 * or returns undefined if another process, or another lock in this one,
 * holds it. Never waits.
 */
export function tryLockFile(path: string): FileLock | undefined {
	const db = new DatabaseSync(path, { timeout: 0 });
	try {
		db.exec(
			"PRAGMA journal_mode = MEMORY; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;",
		);
	} catch (error) {
		db.close();
		if (isBusy(error)) return;
		throw error;
	}
	return {
		release: () => {
			if (db.isOpen) db.close();
		},
	};
}
