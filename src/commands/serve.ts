/**
 * `sherpany serve`: the HTTP service. It never changes the schema of
 * PostgreSQL (only the embedded database migrates itself); `/ready` reports
 * when it is behind. Shutdown: readiness fails, a delay lets load balancers
 * notice, the listeners stop accepting and drain in-flight requests up to a
 * deadline, then the database closes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type Koa from "koa";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import type { ServerConfig } from "../config/server.ts";
import { type DatabaseHandle, openDatabase } from "../db/connect.ts";
import { createMigrator } from "../db/migrator.ts";
import { prepareEmbeddedDatabase } from "../db/prepare-embedded.ts";
import { CommandError } from "../errors.ts";
import { type AppDeps, createApp } from "../http/app.ts";
import { checkReadiness, type ReadinessDeps } from "../http/health.ts";
import { createMetrics } from "../metrics.ts";

export interface ServeOptions {
	readonly server: ServerConfig;
	readonly database: DatabaseConfig;
}

export interface ServeDeps {
	readonly logger: Logger;
}

/** A started server. `shutdown` is idempotent and settles once everything is closed. */
export interface RunningServer {
	readonly port: number;
	readonly adminPort: number | undefined;
	shutdown(reason: string): Promise<void>;
}

type Closer = () => Promise<void>;

/** How long closing the database may take once the listeners have drained. */
export const DATABASE_CLOSE_TIMEOUT_MS = 5000;

/** The longest a clean shutdown can take; past it, the process is stuck. */
export function shutdownDeadlineMs(config: ServerConfig): number {
	return (
		config.shutdownDelayMs +
		config.shutdownTimeoutMs +
		DATABASE_CLOSE_TIMEOUT_MS +
		5000
	);
}

/** Starts the service and returns once it is listening. */
export async function run(
	options: ServeOptions,
	deps: ServeDeps,
): Promise<RunningServer> {
	const { logger } = deps;
	const { server: config } = options;
	// Closed in reverse order on shutdown (Graphile Worker's releasers).
	const closers: Closer[] = [];
	let shuttingDown = false;
	let shutdownPromise: Promise<void> | undefined;
	let database: DatabaseHandle | undefined;
	let readinessDeps: ReadinessDeps | undefined;
	const metrics = createMetrics(new Registry(), {
		pool: () => database?.pool,
		readiness: async () =>
			readinessDeps && (await checkReadiness(readinessDeps)).checks,
	});
	try {
		database = await openDatabase(options.database, {
			queryTimeoutMs: config.queryTimeoutMs,
			onQuery: (seconds, outcome) =>
				metrics.dbQueryDuration.observe({ outcome }, seconds),
			onPoolError: (error) => {
				metrics.dbPoolErrors.inc();
				logger.warn({ err: error }, "idle database connection failed");
			},
		});
		const { close } = database;
		closers.push(() =>
			closeWithin(DATABASE_CLOSE_TIMEOUT_MS, close, "the database", logger),
		);
		const migrator = createMigrator(database.db);
		if (options.database.kind === "embedded") {
			await prepareEmbeddedDatabase(
				database.db,
				migrator,
				options.database,
				logger,
			);
		}
		const appDeps: AppDeps = {
			db: database.db,
			migrator,
			metrics,
			logger,
			readyTimeoutMs: config.readyTimeoutMs,
			isShuttingDown: () => shuttingDown,
		};
		// The metric describes the database, so it ignores shutdown (which
		// `/ready` reports on its own, with no database check).
		readinessDeps = { ...appDeps, isShuttingDown: () => false };
		// Both listeners drain together, within one deadline.
		const servers: Server[] = [];
		closers.push(async () => {
			await Promise.all(
				servers.map((server) =>
					closeServer(server, config.shutdownTimeoutMs, logger),
				),
			);
		});
		const listen = async (app: Koa, port: number): Promise<number> => {
			const server = createServer(app.callback());
			// Ask clients not to reuse connections once shutdown has begun.
			server.on("request", (_request, response) => {
				if (shuttingDown) response.setHeader("Connection", "close");
			});
			await listenOn(server, port, config.host);
			servers.push(server);
			return (server.address() as AddressInfo).port;
		};
		const separateAdmin = config.adminPort !== undefined;
		const port = await listen(
			createApp({ ...appDeps, routes: separateAdmin ? "api" : "all" }),
			config.port,
		);
		const adminPort =
			config.adminPort === undefined
				? undefined
				: await listen(
						createApp({ ...appDeps, routes: "admin" }),
						config.adminPort,
					);
		logger.info(
			{ port, adminPort, database: describeDatabase(options.database) },
			"listening",
		);
		void logInitialReadiness(appDeps, logger);
		return {
			port,
			adminPort,
			shutdown(reason) {
				shutdownPromise ??= (async () => {
					shuttingDown = true;
					logger.info(
						{ reason, delayMs: config.shutdownDelayMs },
						"shutting down: readiness now fails",
					);
					await sleep(config.shutdownDelayMs);
					await closeAll(closers, logger);
					logger.info("shutdown complete");
				})();
				return shutdownPromise;
			},
		};
	} catch (error) {
		await closeAll(closers, logger);
		throw error;
	}
}

async function closeAll(closers: Closer[], logger: Logger): Promise<void> {
	for (const close of closers.reverse()) {
		try {
			await close();
		} catch (error) {
			logger.error({ err: error }, "error while closing");
		}
	}
}

/** Runs `close`, but waits no longer than `timeoutMs` for it (a hung database). */
async function closeWithin(
	timeoutMs: number,
	close: Closer,
	what: string,
	logger: Logger,
): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<void>((resolve) => {
		timer = setTimeout(() => {
			logger.warn({ timeoutMs }, `${what} did not close in time: leaving it`);
			resolve();
		}, timeoutMs);
	});
	try {
		await Promise.race([close(), timedOut]);
	} finally {
		clearTimeout(timer);
	}
}

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
async function closeServer(
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

/** Says at start-up whether the database is reachable and the schema current, without blocking. */
async function logInitialReadiness(
	deps: Parameters<typeof checkReadiness>[0],
	logger: Logger,
): Promise<void> {
	const report = await checkReadiness(deps);
	if (report.status === "ready") logger.info(report.checks, "ready");
	else logger.warn(report.checks, "not ready yet");
}
