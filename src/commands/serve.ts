/**
 * `sherpany serve`: the HTTP service. Never changes the schema of PostgreSQL
 * (only the embedded database migrates itself); `/ready`
 * reports when it is behind. Shutdown: readiness fails, a delay lets load
 * balancers notice, the listeners stop accepting and drain in-flight requests
 * up to a deadline, then the pool closes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Migrator } from "kysely/migration";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import type { ServerConfig } from "../config/server.ts";
import { type DatabaseHandle, openDatabase } from "../db/connect.ts";
import { createMigrator } from "../db/migrator.ts";
import { insertSampleUsers } from "../db/users.ts";
import { CommandError } from "../errors.ts";
import { type AppRoutes, createApp } from "../http/app.ts";
import { checkReadiness } from "../http/health.ts";
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

	const database = await openDatabase(options.database, {
		onQuery: (seconds, outcome) =>
			metrics.dbQueryDuration.observe({ outcome }, seconds),
		onPoolError: (error) => {
			metrics.dbPoolErrors.inc();
			logger.warn({ err: error }, "idle database connection failed");
		},
	});
	closers.push(database.close);
	const metrics = createMetrics(new Registry(), { pool: database.pool });
	const migrator = createMigrator(database.db);
	if (options.database.kind === "embedded") {
		try {
			await prepareEmbedded(database.db, migrator, logger, options.database);
		} catch (error) {
			await closeAll(closers, logger);
			throw error;
		}
	}
	const appDeps = {
		db: database.db,
		migrator,
		metrics,
		logger,
		readyTimeoutMs: config.readyTimeoutMs,
		isShuttingDown: () => shuttingDown,
	};

	const listen = async (port: number, routes: AppRoutes): Promise<Server> => {
		const server = createServer(createApp({ ...appDeps, routes }).callback());
		// Ask clients not to reuse connections once shutdown has begun.
		server.on("request", (_request, response) => {
			if (shuttingDown) response.setHeader("Connection", "close");
		});
		await listenOn(server, port, config.host);
		closers.push(() => closeServer(server, config.shutdownTimeoutMs, logger));
		return server;
	};

	try {
		const api = await listen(
			config.port,
			config.adminPort === undefined ? "all" : "api",
		);
		const admin =
			config.adminPort === undefined
				? undefined
				: await listen(config.adminPort, "admin");
		const port = (api.address() as AddressInfo).port;
		const adminPort = admin ? (admin.address() as AddressInfo).port : undefined;
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

/**
 * The embedded database is the one that `serve` migrates itself. A new one
 * (no migration applied yet) also gets the sample users, so a first run
 * shows data.
 */
async function prepareEmbedded(
	db: DatabaseHandle["db"],
	migrator: Migrator,
	logger: Logger,
	config: DatabaseConfig,
): Promise<void> {
	logger.info(
		{ database: describeDatabase(config) },
		"no database configured: using the embedded PGlite database; set DATABASE_URL (or PGHOST) to use PostgreSQL",
	);
	const isNew = (await migrator.getMigrations()).every(
		(migration) => migration.executedAt === undefined,
	);
	const { error, results = [] } = await migrator.migrateToLatest();
	if (error) throw error;
	const applied = results.map((result) => result.migrationName);
	if (applied.length > 0)
		logger.info({ applied }, "migrated the embedded database");
	if (isNew) {
		const inserted = await insertSampleUsers(db);
		logger.info(
			{ inserted },
			"seeded the new embedded database with the sample users",
		);
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
