/**
 * One process per embedded data directory. PGlite has no lock of its own,
 * and two processes on one directory corrupt it. Two locks guard it:
 *
 * - a kernel lock on a file inside the directory (file-lock.ts), which is
 *   the one that decides: every process that opens the directory's files
 *   sees it, in another container sharing the volume too, and only users
 *   who can enter the (private) directory can take it;
 * - a Unix socket named after the directory, on which the holder answers
 *   each connection with its pid, so that a refusal names the holder; it
 *   also keeps out a sherpany that predates the file lock.
 *
 * On Linux the socket is abstract (no file): the kernel frees it when the
 * holder dies, SIGKILL included. Elsewhere (macOS) there are no abstract
 * sockets, so the socket is a file, which does outlive a killed holder. A
 * locker that finds the name taken therefore connects to it: if nobody
 * listens (ECONNREFUSED, or ENOENT when the file just went away), the lock
 * is stale, so it removes the file and listens once more. It holds the
 * file lock by then, so no other locker is taking the same file over.
 */
import { createHash } from "node:crypto";
import { realpathSync, rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "../exit-codes.ts";
import { tryLockFile } from "./file-lock.ts";

/** A held lock; `release` is idempotent. */
export interface DataDirLock {
	release(): Promise<void>;
}

export interface LockOptions {
	/** An abstract socket (Linux only) rather than a socket file. Defaults to true on Linux. */
	abstract?: boolean;
}

/** The file whose kernel lock guards the directory, inside it. */
export const LOCK_FILE = ".sherpany-lock.sqlite";

/** `sun_path` holds 104 bytes on macOS and the BSDs (108 on Linux), the final NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

/** The socket for a directory, named by a hash of the directory's real path. */
function socketPathFor(dataDir: string, abstract: boolean): string {
	const realDir = realpathSync(dataDir);
	const hash = createHash("sha256").update(realDir).digest("hex").slice(0, 32);
	if (abstract) return `\0sherpany-data-dir-${hash}`;
	// The file lives in the directory it guards, so every process finds it
	// whatever its TMPDIR. A path too long for sun_path (a Unix socket can't
	// be bound there) falls back to a short name in the temp dir, named by
	// the same hash; the choice depends only on the directory, so all its
	// lockers make the same one.
	const inside = join(realDir, ".sherpany.lock");
	return Buffer.byteLength(inside) <= MAX_SOCKET_PATH_BYTES
		? inside
		: join(tmpdir(), `sherpany-data-dir-${hash}.lock`);
}

/** Takes the lock on `dataDir` (which must exist), or throws a CommandError naming the holder. */
export async function lockDataDir(
	dataDir: string,
	{ abstract = process.platform === "linux" }: LockOptions = {},
): Promise<DataDirLock> {
	const path = socketPathFor(dataDir, abstract);
	const fileLock = tryLockFile(join(realpathSync(dataDir), LOCK_FILE));
	if (!fileLock) {
		// Its socket answers if the holder shares this network namespace.
		throw inUse(dataDir, (await askHolder(path)).pid);
	}
	let server: Server | undefined;
	try {
		server = await listenOrAsk(dataDir, path, abstract);
	} catch (error) {
		fileLock.release();
		throw error;
	}
	const held = server;
	let released: Promise<void> | undefined;
	return {
		// Closing the server also removes a socket file.
		release: () => {
			released ??= new Promise<void>((resolve) =>
				held.close(() => resolve()),
			).finally(() => fileLock.release());
			return released;
		},
	};
}

/** Listens on the socket, taking over a stale one; throws the refusal if it is held. */
async function listenOrAsk(
	dataDir: string,
	path: string,
	abstract: boolean,
): Promise<Server> {
	let server = await tryListen(path);
	let holder = server ? undefined : await askHolder(path);
	if (holder?.stale) {
		// Nobody listens: the holder died without releasing (a socket file
		// survives SIGKILL), or it released just now.
		if (!abstract) rmSync(path, { force: true });
		server = await tryListen(path);
		holder = server ? undefined : await askHolder(path);
	}
	if (!server) throw inUse(dataDir, holder?.pid);
	return server;
}

function inUse(dataDir: string, pid: string | undefined): CommandError {
	return new CommandError(
		`the data directory ${dataDir} is in use by another sherpany process${pid ? ` (pid ${pid})` : ""}: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
	);
}

/** Listens on `path`; undefined if the name is taken. */
async function tryListen(path: string): Promise<Server | undefined> {
	const server = createServer((socket) => socket.end(`${process.pid}\n`));
	try {
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(path, () => resolve());
		});
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") return;
		throw error;
	}
	// The lock must not keep the process alive on its own.
	server.unref();
	return server;
}

/**
 * Connects to the socket: `stale` if nothing listens on it; otherwise the
 * holder's pid, undefined if it does not answer within a moment.
 */
function askHolder(path: string): Promise<{ stale: boolean; pid?: string }> {
	return new Promise((resolve) => {
		let answer = "";
		const socket = connect(path);
		socket.setTimeout(500, () => socket.destroy());
		socket.on("data", (chunk) => {
			answer += chunk;
		});
		socket.on("close", () =>
			resolve({ stale: false, pid: /^\d+/.exec(answer)?.[0] }),
		);
		socket.on("error", (error: NodeJS.ErrnoException) =>
			resolve({
				stale: error.code === "ECONNREFUSED" || error.code === "ENOENT",
			}),
		);
	});
}
