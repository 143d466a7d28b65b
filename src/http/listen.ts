/** Putting an `http.Server` on a port, and taking it off again with a drain deadline. */
import type { Server } from "node:http";
import type { Logger } from "pino";
import { CommandError } from "../errors.ts";

/** Listens on `host:port`; a port in use fails with a message that says how to pick another. */
export function listenOn(
	server: Server,
	port: number,
	host: string,
): Promise<void> {
	return new Promise((resolve, reject) => {
		server.once("error", (error: NodeJS.ErrnoException) => {
			const reason =
				error.code === "EADDRINUSE"
					? `port ${port} on ${host} is already in use: pass --port or set PORT`
					: `cannot listen on ${host}:${port} (${error.code ?? error.message})`;
			reject(new CommandError(reason, { cause: error }));
		});
		server.listen(port, host, () => resolve());
	});
}

/**
 * Stops accepting, lets in-flight requests finish, and after `timeoutMs`
 * cuts whatever is still open.
 */
export async function closeServer(
	server: Server,
	timeoutMs: number,
	logger: Logger,
): Promise<void> {
	const closed = new Promise<void>((resolve) => server.close(() => resolve()));
	server.closeIdleConnections();
	const deadline = setTimeout(() => {
		logger.warn(
			{ timeoutMs },
			"drain deadline reached: closing open connections",
		);
		server.closeAllConnections();
	}, timeoutMs);
	await closed;
	clearTimeout(deadline);
}
