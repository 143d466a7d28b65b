/**
 * `sherpany serve`: the HTTP service. It never changes the schema of
 * PostgreSQL (only the embedded database migrates itself); `/ready` reports
 * when it is behind. Shutdown: readiness fails, a delay lets load balancers
 * notice, the listeners stop accepting and drain in-flight requests up to a
 * deadline, then the database closes.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type Koa from "koa";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { ApiToken } from "../auth/token-file.ts";
import { watchTokenFile } from "../auth/token-watcher.ts";
import { type Closer, closeAll, closeWithin } from "../closers.ts";
import type { ApiTokensConfig } from "../config/api-tokens.ts";
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import {
	describeEmbeddedFallback,
	describeEmbeddedOpening,
} from "../config/embedded-state.ts";
import type { ReadReplicaConfig } from "../config/read-replica.ts";
import type { ServerConfig } from "../config/server.ts";
import { type DatabaseHandle, openDatabase } from "../db/connect.ts";
import type { QueryObserver } from "../db/handle.ts";
import { createMigrator } from "../db/migrator.ts";
import {
	openReadReplica,
	type ReadReplicaHandle,
} from "../db/open-read-replica.ts";
import { prepareEmbeddedDatabase } from "../db/prepare-embedded.ts";
import { readFrom } from "../db/read-router.ts";
import { type AppDeps, createApp } from "../http/app.ts";
import { checkReadiness, type ReadinessDeps } from "../http/health.ts";
import { closeServer, serveApp } from "../http/listen.ts";
import { shareInFlight } from "../http/share-in-flight.ts";
import { createMetrics, type DbTarget, type Metrics } from "../metrics.ts";

export interface ServeOptions {
	readonly server: ServerConfig;
	readonly database: DatabaseConfig;
	/** A streaming replica for `/users` and the export; the primary serves everything else. */
	readonly replica?: ReadReplicaConfig;
	/** The token file that `/users` then requires a token from; unset, `/users` is open. */
	readonly apiTokens?: ApiTokensConfig;
}

export interface ServeDeps {
	readonly logger: Logger;
}

/** How a shutdown was asked for. */
export interface ShutdownOptions {
	/**
	 * A person pressed Ctrl-C at a terminal: no orchestrator or load balancer
	 * is waiting for readiness to fail, so the delay is skipped and the log
	 * line says how to exit at once.
	 */
	readonly interactive?: boolean;
}

/** A started server. `shutdown` is idempotent and settles once everything is closed. */
export interface RunningServer {
	readonly port: number;
	readonly adminPort: number | undefined;
	shutdown(reason: string, options?: ShutdownOptions): Promise<void>;
}

/** How long closing the database may take once the listeners have drained. */
export const DATABASE_CLOSE_TIMEOUT_MS = 5000;

/**
 * Allowance on top of the bounded steps of a shutdown. Each step ends on its
 * own timer, but work follows each timer (cutting connections, closing the
 * pool's sockets, writing the log lines) and timers fire late on a busy
 * event loop; the watchdog should catch a shutdown that is stuck, not one
 * that is slow by a second.
 */
export const SHUTDOWN_SLACK_MS = 5000;

/**
 * The longest a clean shutdown can take: the delay, the drain, closing the
 * databases, and the slack. Past it the process is stuck and the watchdog
 * exits.
 */
export function shutdownDeadlineMs(config: ServerConfig): number {
	return (
		config.shutdownDelayMs +
		config.shutdownTimeoutMs +
		DATABASE_CLOSE_TIMEOUT_MS +
		SHUTDOWN_SLACK_MS
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
	let replica: ReadReplicaHandle | undefined;
	let readinessDeps: ReadinessDeps | undefined;
	const metrics = createMetrics(new Registry(), {
		pool: () => database?.pool,
		replicaPool: () => replica?.pool,
		// Concurrent scrapes share one check: a flood of them costs the pool one connection.
		readiness: shareInFlight(
			async () => readinessDeps && (await checkReadiness(readinessDeps)).checks,
		),
	});
	const { database: databaseConfig } = options;
	try {
		// First: a bad token file is a configuration error, found before the
		// database is opened (or an embedded one created).
		const apiTokens =
			options.apiTokens && watchApiTokens(options.apiTokens, logger, closers);
		database = await openDatabase(databaseConfig, {
			// Said before PGlite starts: creating a new database takes seconds,
			// and a first run should not sit silent meanwhile.
			onEmbeddedOpening: () => {
				if (databaseConfig.kind !== "embedded") return;
				logger.info(
					{ database: describeDatabase(databaseConfig) },
					`${describeEmbeddedFallback()}; ${describeEmbeddedOpening(databaseConfig)}`,
				);
			},
			queryTimeoutMs: config.queryTimeoutMs,
			onQuery: observeQueries(metrics, "primary"),
			onPoolError: (error) => {
				metrics.dbPoolErrors.inc({ target: "primary" });
				logger.warn({ err: error }, "a database connection failed");
			},
		});
		const { close } = database;
		// The primary's and the replica's pools close together, so that two
		// databases that stop answering still cost one DATABASE_CLOSE_TIMEOUT_MS
		// and the shutdown fits shutdownDeadlineMs (and the pod's grace period).
		const databaseClosers: Closer[] = [
			() =>
				closeWithin(DATABASE_CLOSE_TIMEOUT_MS, close, "the database", logger),
		];
		closers.push(async () => {
			await Promise.all(databaseClosers.map((closeOne) => closeOne()));
		});
		const migrator = createMigrator(database.db);
		if (options.database.kind === "embedded") {
			const prepared = await prepareEmbeddedDatabase(database.db, migrator, {
				seedWhenNew: true,
				created: database.created,
			});
			if (prepared.applied.length > 0)
				logger.info(
					{ applied: prepared.applied },
					"migrated the embedded database",
				);
			if (prepared.sampleUsersInserted !== undefined)
				logger.info(
					{ inserted: prepared.sampleUsersInserted },
					"seeded the new embedded database with the sample users",
				);
		}
		if (options.replica) {
			const opened = openReadReplica(options.replica, {
				primary: database.reads,
				registry: metrics.registry,
				onQuery: observeQueries(metrics, "replica"),
				onPoolError: () => metrics.dbPoolErrors.inc({ target: "replica" }),
				logger,
				queryTimeoutMs: config.queryTimeoutMs,
				checkTimeoutMs: config.readyTimeoutMs,
			});
			replica = opened;
			databaseClosers.push(() =>
				closeWithin(
					DATABASE_CLOSE_TIMEOUT_MS,
					opened.close,
					"the read replica",
					logger,
				),
			);
		}
		const router = replica?.router;
		const appDeps: AppDeps = {
			db: database.db,
			...(router
				? { read: router.read, replica: () => router.status() }
				: { read: readFrom(database.reads) }),
			migrator,
			metrics,
			logger,
			readyTimeoutMs: config.readyTimeoutMs,
			isShuttingDown: () => shuttingDown,
			maxInFlight: config.maxInFlight,
			maxExports: config.maxExports,
			...(apiTokens ? { apiTokens } : {}),
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
		const listen = async (
			app: Koa,
			port: number,
			host: string,
		): Promise<number> => {
			const server = await serveApp(app, {
				port,
				host,
				logger,
				isShuttingDown: () => shuttingDown,
				maxConnections: config.maxConnections,
				sendStall: { timeoutMs: config.sendStallTimeoutMs, metrics },
				onPipelineExceeded: () =>
					metrics.httpRequestsShed.inc({ reason: "pipelined" }),
			});
			servers.push(server);
			return (server.address() as AddressInfo).port;
		};
		const separateAdmin = config.adminPort !== undefined;
		const port = await listen(
			createApp({ ...appDeps, routes: separateAdmin ? "api" : "all" }),
			config.port,
			config.host,
		);
		const adminPort =
			config.adminPort === undefined
				? undefined
				: await listen(
						createApp({ ...appDeps, routes: "admin" }),
						config.adminPort,
						config.adminHost,
					);
		const url = usersUrl(config.host, port);
		logger.info(
			{
				host: config.host,
				port,
				...(adminPort === undefined
					? {}
					: { adminHost: config.adminHost, adminPort }),
				database: describeDatabase(options.database),
				...(options.replica
					? { readReplica: describeDatabase(options.replica.postgres) }
					: {}),
				url,
			},
			"listening",
		);
		void logInitialReadiness(appDeps, logger, url);
		return {
			port,
			adminPort,
			shutdown(reason, { interactive = false } = {}) {
				shutdownPromise ??= (async () => {
					shuttingDown = true;
					const delayMs = interactive ? 0 : config.shutdownDelayMs;
					logger.info(
						{
							reason,
							delayMs,
							drainTimeoutMs: config.shutdownTimeoutMs,
						},
						describeShutdown(delayMs, config.shutdownTimeoutMs, interactive),
					);
					await sleep(delayMs);
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

/** Loads the accepted API tokens, follows their file, and says how many there are. */
function watchApiTokens(
	config: ApiTokensConfig,
	logger: Logger,
	closers: Closer[],
): () => readonly ApiToken[] {
	const watcher = watchTokenFile({ config, logger });
	closers.push(watcher.close);
	const names = watcher.tokens().map((token) => token.name);
	logger.info(
		{ file: config.file, tokens: names },
		`/users requires a bearer token: ${names.length} accepted`,
	);
	return watcher.tokens;
}

/** Records each query's duration on `target`'s series. */
function observeQueries(metrics: Metrics, target: DbTarget): QueryObserver {
	return (seconds, outcome) =>
		metrics.dbQueryDuration.observe({ outcome, target }, seconds);
}

/** Says at start-up whether the database is reachable and the schema current, without blocking. */
async function logInitialReadiness(
	deps: Parameters<typeof checkReadiness>[0],
	logger: Logger,
	url: string,
): Promise<void> {
	const report = await checkReadiness(deps);
	// Once shutdown has begun the result no longer describes the server, and
	// its line could land after the shutdown's own: the shutdown line says
	// what happens next.
	if (deps.isShuttingDown()) return;
	if (report.status === "ready")
		logger.info(report.checks, `ready: try curl ${url}`);
	else logger.warn(report.checks, "not ready yet");
}

/** The `/users` URL to try from this machine: a wildcard address is reached as localhost. */
export function usersUrl(host: string, port: number): string {
	const reachable =
		host === "0.0.0.0" || host === "::" || host === ""
			? "localhost"
			: host.includes(":")
				? `[${host}]`
				: host;
	return `http://${reachable}:${port}/users`;
}

/** The shutdown log line: what happens next, and for how long at most. */
export function describeShutdown(
	delayMs: number,
	drainTimeoutMs: number,
	interactive: boolean,
): string {
	const seconds = (ms: number): string => `${+(ms / 1000).toFixed(1)} s`;
	const drain = `draining in-flight requests for up to ${seconds(drainTimeoutMs)}`;
	const steps =
		delayMs > 0
			? `shutting down: readiness now fails; waiting ${seconds(delayMs)} for load balancers to notice, then ${drain}`
			: `shutting down: ${drain}`;
	return interactive ? `${steps}; press Ctrl-C again to exit at once` : steps;
}
