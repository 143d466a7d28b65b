/** Putting the app on an `http.Server` and a port, and taking it off again with a drain deadline. */
import { createServer, type Server } from "node:http";
import type Koa from "koa";
import type { Logger } from "pino";
import { CommandError } from "../exit-codes.ts";
import { answerParserErrors } from "./parser-errors.ts";
import { limitPipelining } from "./pipeline-limit.ts";
import { endStalledResponses, type SendStallOptions } from "./send-stall.ts";
import { MAX_PIPELINED_REQUESTS, SERVER_LIMITS } from "./server-limits.ts";

export interface ServeAppOptions {
	readonly port: number;
	readonly host: string;
	/** Where the requests that Node's parser rejects, before Koa sees them, are logged (at debug). */
	readonly logger: Logger;
	/** True once shutdown has begun: responses then ask clients not to reuse the connection. */
	readonly isShuttingDown: () => boolean;
	/** Open connections at most; Node closes the ones past it as they arrive. */
	readonly maxConnections?: number;
	/** Requests a connection may have waiting for responses; MAX_PIPELINED_REQUESTS by default. */
	readonly maxPipelined?: number;
	/** Counts a connection closed for pipelining too many requests. */
	readonly onPipelineExceeded?: () => void;
	/** Ends responses whose client stopped reading; none are ended without it. */
	readonly sendStall?: Omit<SendStallOptions, "logger">;
}

/**
 * Serves `app` on a new server with the service's limits, answering
 * malformed requests with JSON, and resolves once it listens.
 */
export async function serveApp(
	app: Koa,
	options: ServeAppOptions,
): Promise<Server> {
	const maxPipelined = options.maxPipelined ?? MAX_PIPELINED_REQUESTS;
	const server = createServer(
		SERVER_LIMITS,
		limitPipelining(app.callback(), {
			maxPipelined,
			onExceeded: () => {
				options.onPipelineExceeded?.();
				options.logger.warn(
					{ maxPipelined },
					"closed a connection that pipelined more requests than the bound",
				);
			},
		}),
	);
	answerParserErrors(server, options.logger);
	if (options.maxConnections !== undefined)
		server.maxConnections = options.maxConnections;
	if (options.sendStall)
		endStalledResponses(server, {
			...options.sendStall,
			logger: options.logger,
		});
	server.on("request", (_request, response) => {
		if (options.isShuttingDown()) response.setHeader("Connection", "close");
	});
	await listenOn(server, options.port, options.host);
	return server;
}

/** Listens on `host:port`; a port in use fails with a message that says how to pick another. */
function listenOn(server: Server, port: number, host: string): Promise<void> {
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
