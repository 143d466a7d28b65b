/**
 * One process per embedded data directory. PGlite has no lock of its own,
 * and two processes on one directory corrupt it. A kernel lock on a file
 * inside the directory (file-lock.ts) guards it: every process that opens
 * the directory's files sees it, in another container sharing the volume
 * too, and only users who can enter the (private) directory can take it,
 * so no other local user can keep sherpany out.
 *
 * The holder then writes its pid and host name to a file beside it, which
 * a refused locker reads to name the holder. The file outlives a holder
 * killed with SIGKILL, but it is read only while the lock is held, and a
 * pid on this host is named only if that process is alive: a new holder
 * may not have replaced its predecessor's file yet.
 */
import { readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { CommandError } from "../exit-codes.ts";
import { tryLockFile } from "./file-lock.ts";

/** A held lock; `release` is idempotent. */
export interface DataDirLock {
	release(): Promise<void>;
}

/** The file whose kernel lock guards the directory, inside it. */
export const LOCK_FILE = ".sherpany-lock.sqlite";

/** The holder's pid and host name, inside the directory. */
export const PID_FILE = ".sherpany-lock.pid";

/** Takes the lock on `dataDir` (which must exist), or throws a CommandError naming the holder. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
	const realDir = realpathSync(dataDir);
	const pidFile = join(realDir, PID_FILE);
	const fileLock = tryLockFile(join(realDir, LOCK_FILE));
	if (!fileLock) throw inUse(dataDir, readHolder(pidFile));
	try {
		writeFileSync(
			pidFile,
			`${JSON.stringify({ pid: process.pid, host: hostname() })}\n`,
			{ mode: 0o600 },
		);
	} catch (error) {
		fileLock.release();
		throw error;
	}
	let released = false;
	return {
		release: async () => {
			if (released) return;
			released = true;
			// Removed while still held, so it is never a successor's file.
			try {
				rmSync(pidFile, { force: true });
			} finally {
				fileLock.release();
			}
		},
	};
}

function inUse(dataDir: string, holder: string | undefined): CommandError {
	return new CommandError(
		`the data directory ${dataDir} is in use by another sherpany process${holder ? ` (${holder})` : ""}: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
	);
}

/** "pid N", or "pid N on host H" for a holder elsewhere; undefined if unknown. */
function readHolder(pidFile: string): string | undefined {
	let holder: { pid?: unknown; host?: unknown };
	try {
		holder = JSON.parse(readFileSync(pidFile, "utf8"));
	} catch {
		// Missing, or being written.
		return;
	}
	const { pid, host } = holder;
	if (!Number.isInteger(pid) || typeof host !== "string") return;
	if (host !== hostname()) return `pid ${pid} on host ${host}`;
	return isAlive(pid as number) ? `pid ${pid}` : undefined;
}

/** Whether a process with this pid exists (perhaps another user's). */
function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code !== "ESRCH";
	}
}
