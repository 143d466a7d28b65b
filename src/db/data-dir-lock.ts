/**
 * One process per embedded data directory. PGlite has no lock of its own,
 * and two processes on one directory corrupt it, so the holder listens on a
 * Unix socket named after the directory. The kernel frees the socket when
 * the holder dies, SIGKILL included, so a lock is never left stale.
 */
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { CommandError } from "../errors.ts";

/** A held lock; `release` is idempotent. */
export interface DataDirLock {
	release(): Promise<void>;
}

/**
 * The socket for a directory: on Linux an abstract socket (no file, no path
 * length limit), named by a hash of the directory's real path.
 */
function socketPathFor(dataDir: string): string {
	const hash = createHash("sha256")
		.update(realpathSync(dataDir))
		.digest("hex")
		.slice(0, 32);
	return `\0sherpany-data-dir-${hash}`;
}

/** Takes the lock on `dataDir` (which must exist), or throws a CommandError naming the holder. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
	const path = socketPathFor(dataDir);
	const server = createServer((socket) => socket.end(`${process.pid}\n`));
	try {
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(path, () => resolve());
		});
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
		const holder = await askHolderPid(path);
		throw new CommandError(
			`the data directory ${dataDir} is in use by another sherpany process${holder ? ` (pid ${holder})` : ""}: stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory`,
			{ cause: error },
		);
	}
	// The lock must not keep the process alive on its own.
	server.unref();
	let released: Promise<void> | undefined;
	return {
		release: () => {
			released ??= closeServer(server);
			return released;
		},
	};
}

function closeServer(server: Server): Promise<void> {
	return new Promise((resolve) => server.close(() => resolve()));
}

/** The holder answers with its pid; undefined if it does not within a moment. */
function askHolderPid(path: string): Promise<string | undefined> {
	return new Promise((resolve) => {
		let answer = "";
		const socket = connect(path);
		socket.setTimeout(500, () => socket.destroy());
		socket.on("data", (chunk) => {
			answer += chunk;
		});
		socket.on("close", () => resolve(/^\d+/.exec(answer)?.[0]));
		socket.on("error", () => resolve(undefined));
	});
}
