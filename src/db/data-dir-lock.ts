/**
 * One process per embedded data directory. PGlite has no lock of its own,
 * and two processes on one directory corrupt it, so the holder listens on a
 * Unix socket named after the directory and answers each connection with its
 * pid.
 *
 * On Linux the socket is abstract (no file): the kernel frees it when the
 * holder dies, SIGKILL included, so a lock is never left stale. Elsewhere
 * (macOS) there are no abstract sockets, so the socket is a file, which does
 * outlive a killed holder. A locker that finds the name taken therefore
 * connects to it: if nobody listens (ECONNREFUSED, or ENOENT when the file
 * just went away), the lock is stale, so it removes the file and listens once
 * more. (Two lockers taking over one stale file at the same instant could
 * both win; that needs a killed holder and two starts in the same moment.)
 */
import { createHash } from "node:crypto";
import { realpathSync, rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "../exit-codes.ts";

/** A held lock; `release` is idempotent. */
export interface DataDirLock {
	release(): Promise<void>;
}

export interface LockOptions {
	/** An abstract socket (Linux only) rather than a socket file. Defaults to true on Linux. */
	abstract?: boolean;
}

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
	let server = await tryListen(path);
	let holder = server ? undefined : await askHolder(path);
	if (holder?.stale) {
		// Nobody listens: the holder died without releasing (a socket file
		// survives SIGKILL), or it released just now.
		if (!abstract) rmSync(path, { force: true });
		server = await tryListen(path);
		holder = server ? undefined : await askHolder(path);
	}
	if (!server) {
		throw new CommandError(
			`the data directory ${dataDir} is in use by another sherpany process${holder?.pid ? ` (pid ${holder.pid})` : ""}: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
		);
	}
	let released: Promise<void> | undefined;
	const held = server;
	return {
		// Closing the server also removes a socket file.
		release: () => {
			released ??= new Promise((resolve) => held.close(() => resolve()));
			return released;
		},
	};
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
