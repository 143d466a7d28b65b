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
import { isatty } from "node:tty";
import type Koa from "koa";
import type { Migrator } from "kysely/migration";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { ApiToken } from "../auth/token-file.ts";
import { watchTokenFile } from "../auth/token-watcher.ts";
import {
	catchShutdownSignals,
	exitIfStillRunningAfter,
} from "../cli/signals.ts";
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
import type { DatabaseRole, QueryObserver } from "../db/handle.ts";
import { createMigrator } from "../db/migrator.ts";
import {
	openReadReplica,
	type ReadReplicaHandle,
} from "../db/open-read-replica.ts";
import { prepareEmbeddedDatabase } from "../db/prepare-embedded.ts";
import { runReadsOn } from "../db/read-router.ts";
import { type AppDeps, createApp } from "../http/app.ts";
import { checkReadiness, type ReadinessDeps } from "../http/health.ts";
import { closeServer, type ServeAppOptions, serveApp } from "../http/listen.ts";
import { shareInFlight } from "../http/share-in-flight.ts";
import { createMetrics, type Metrics } from "../metrics.ts";

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

/**
 * Runs the service until the first SIGTERM or SIGINT, then shuts it down.
 * A signal during start-up is kept, and the shutdown follows start-up; a
 * second signal exits at once, and a watchdog exits if the shutdown overruns
 * shutdownDeadlineMs.
 */
export async function runUntilSignal(
	options: ServeOptions,
	deps: ServeDeps,
): Promise<void> {
	const { logger } = deps;
	const signals = catchShutdownSignals((signal) =>
		logger.error(
			{ signal },
			`second ${signal}: exiting at once, without finishing the shutdown`,
		),
	);
	let started = false;
	void signals.first.then((signal) => {
		if (!started)
			logger.info(
				{ signal },
				`${signal} received while starting: shutting down as soon as start-up has finished`,
			);
	});
	const running = await run(options, deps);
	started = true;
	const signal = await signals.first;
	const deadlineMs = shutdownDeadlineMs(options.server);
	exitIfStillRunningAfter(deadlineMs, () =>
		logger.error({ deadlineMs }, "shutdown overran its deadline: exiting"),
	);
	// Ctrl-C at a terminal: a person, not an orchestrator, is waiting.
	// Kubernetes stops containers with SIGTERM and gives them no terminal.
	// isatty(0) asks without creating process.stdin's stream.
	await running.shutdown(signal, {
		interactive: signal === "SIGINT" && isatty(0),
	});
}

/** What one start has opened so far: what the metrics read and what shutdown closes. */
interface Opened {
	/** Closed in reverse order on shutdown (Graphile Worker's releasers). */
	readonly closers: Closer[];
	shuttingDown: boolean;
	primary?: DatabaseHandle;
	replica?: ReadReplicaHandle;
	/** What the readiness metric checks, once the apps' dependencies are built. */
	readiness?: ReadinessDeps;
}

/** One start of the service: its settings, logger and metrics, and what it has opened. */
interface Start {
	readonly options: ServeOptions;
	readonly config: ServerConfig;
	readonly logger: Logger;
	readonly metrics: Metrics;
	readonly opened: Opened;
}

/** The open databases behind the apps. */
interface Databases {
	readonly primary: DatabaseHandle;
	readonly migrator: Migrator;
	readonly replica: ReadReplicaHandle | undefined;
}

/** The ports the service listens on. */
interface Ports {
	readonly port: number;
	readonly adminPort: number | undefined;
}

/** Starts the service and returns once it is listening. */
export async function run(
	options: ServeOptions,
	deps: ServeDeps,
): Promise<RunningServer> {
	const { logger } = deps;
	const opened: Opened = { closers: [], shuttingDown: false };
	const start: Start = {
		options,
		config: options.server,
		logger,
		metrics: createServeMetrics(opened),
		opened,
	};
	try {
		// First: a bad token file is a configuration error, found before the
		// database is opened (or an embedded one created).
		const apiTokens =
			options.apiTokens &&
			watchApiTokens(options.apiTokens, logger, opened.closers);
		const databases = await openDatabases(start);
		const appDeps = buildAppDeps(start, databases, apiTokens);
		const ports = await listen(start, appDeps);
		const url = logListening(start, ports);
		void logInitialReadiness(appDeps, logger, url);
		return { ...ports, shutdown: createShutdown(start) };
	} catch (error) {
		await closeAll(opened.closers, logger);
		throw error;
	}
}

/** The metrics, reading the pools and the readiness checks once they are open. */
function createServeMetrics(opened: Opened): Metrics {
	return createMetrics(new Registry(), {
		pool: () => opened.primary?.pool,
		replicaPool: () => opened.replica?.pool,
		// Concurrent scrapes share one check: a flood of them costs the pool one connection.
		readiness: shareInFlight(
			async () =>
				opened.readiness && (await checkReadiness(opened.readiness)).checks,
		),
	});
}

/**
 * Opens the primary (migrating and seeding an embedded one), then the read
 * replica if there is one. The two pools close together, so that two
 * databases that stop answering still cost one DATABASE_CLOSE_TIMEOUT_MS
 * and the shutdown fits shutdownDeadlineMs (and the pod's grace period).
 */
async function openDatabases(start: Start): Promise<Databases> {
	const databaseClosers: Closer[] = [];
	start.opened.closers.push(async () => {
		await Promise.all(databaseClosers.map((closeOne) => closeOne()));
	});
	const primary = await openPrimary(start);
	start.opened.primary = primary;
	databaseClosers.push(closeDatabaseWithin(primary, "the database", start));
	const migrator = createMigrator(primary.db);
	if (start.options.database.kind === "embedded")
		await prepareEmbedded(primary, migrator, start.logger);
	const replica = start.options.replica
		? openReplica(start.options.replica, primary, start)
		: undefined;
	start.opened.replica = replica;
	if (replica)
		databaseClosers.push(
			closeDatabaseWithin(replica, "the read replica", start),
		);
	return { primary, migrator, replica };
}

/** A closer that waits at most DATABASE_CLOSE_TIMEOUT_MS for `database`. */
function closeDatabaseWithin(
	database: { close(): Promise<void> },
	what: string,
	{ logger }: Start,
): Closer {
	return () =>
		closeWithin(DATABASE_CLOSE_TIMEOUT_MS, database.close, what, logger);
}

/** Opens the configured database, saying so first when it is the embedded one. */
function openPrimary({
	options,
	config,
	logger,
	metrics,
}: Start): Promise<DatabaseHandle> {
	const { database } = options;
	return openDatabase(database, {
		// Said before PGlite starts: creating a new database takes seconds,
		// and a first run should not sit silent meanwhile.
		onEmbeddedOpening: () => {
			if (database.kind !== "embedded") return;
			logger.info(
				{ database: describeDatabase(database) },
				`${describeEmbeddedFallback()}; ${describeEmbeddedOpening(database)}`,
			);
		},
		queryTimeoutMs: config.queryTimeoutMs,
		onQuery: observeQueries(metrics, "primary"),
		onPoolError: (error) => {
			metrics.dbPoolErrors.inc({ target: "primary" });
			logger.warn({ err: error }, "a database connection failed");
		},
	});
}

/** Migrates the embedded database, and seeds it when it is new. */
async function prepareEmbedded(
	primary: DatabaseHandle,
	migrator: Migrator,
	logger: Logger,
): Promise<void> {
	const prepared = await prepareEmbeddedDatabase(primary.db, migrator, {
		seedWhenNew: true,
		created: primary.created,
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

/** Opens the read replica, falling back to `primary`'s reads. */
function openReplica(
	replica: ReadReplicaConfig,
	primary: DatabaseHandle,
	{ config, logger, metrics }: Start,
): ReadReplicaHandle {
	return openReadReplica(replica, {
		primary: primary.readDb,
		registry: metrics.registry,
		onQuery: observeQueries(metrics, "replica"),
		onPoolError: () => metrics.dbPoolErrors.inc({ target: "replica" }),
		logger,
		queryTimeoutMs: config.queryTimeoutMs,
		checkTimeoutMs: config.readyTimeoutMs,
	});
}

/** What both apps are built from; also what the readiness metric checks. */
function buildAppDeps(
	{ config, logger, metrics, opened }: Start,
	{ primary, migrator, replica }: Databases,
	apiTokens: (() => readonly ApiToken[]) | undefined,
): AppDeps {
	const router = replica?.router;
	const appDeps: AppDeps = {
		db: primary.db,
		...(router
			? { runRead: router.runRead, replica: () => router.status() }
			: { runRead: runReadsOn(primary.readDb) }),
		migrator,
		metrics,
		logger,
		readyTimeoutMs: config.readyTimeoutMs,
		isShuttingDown: () => opened.shuttingDown,
		maxInFlight: config.maxInFlight,
		maxExports: config.maxExports,
		...(apiTokens ? { apiTokens } : {}),
	};
	// The metric describes the database, so it ignores shutdown (which
	// `/ready` reports on its own, with no database check).
	opened.readiness = { ...appDeps, isShuttingDown: () => false };
	return appDeps;
}

/** Builds the apps and puts them on the API port and, if set, the admin port. */
async function listen(start: Start, appDeps: AppDeps): Promise<Ports> {
	const { config, logger, opened } = start;
	// Both listeners drain together, within one deadline.
	const servers: Server[] = [];
	opened.closers.push(async () => {
		await Promise.all(
			servers.map((server) =>
				closeServer(server, config.shutdownTimeoutMs, logger),
			),
		);
	});
	const listenOn = async (app: Koa, port: number, host: string) => {
		const server = await serveApp(app, listenOptions(start, port, host));
		servers.push(server);
		return (server.address() as AddressInfo).port;
	};
	const separateAdmin = config.adminPort !== undefined;
	const port = await listenOn(
		createApp({ ...appDeps, routes: separateAdmin ? "api" : "all" }),
		config.port,
		config.host,
	);
	const adminPort =
		config.adminPort === undefined
			? undefined
			: await listenOn(
					createApp({ ...appDeps, routes: "admin" }),
					config.adminPort,
					config.adminHost,
				);
	return { port, adminPort };
}

/** How one listener serves: its address, limits and what it counts. */
function listenOptions(
	{ config, logger, metrics, opened }: Start,
	port: number,
	host: string,
): ServeAppOptions {
	return {
		port,
		host,
		logger,
		isShuttingDown: () => opened.shuttingDown,
		maxConnections: config.maxConnections,
		sendStall: { timeoutMs: config.sendStallTimeoutMs, metrics },
		onPipelineExceeded: () =>
			metrics.httpRequestsShed.inc({ reason: "pipelined" }),
	};
}

/** Logs the "listening" line and returns the `/users` URL to try. */
function logListening(
	{ config, logger, options }: Start,
	ports: Ports,
): string {
	const { port, adminPort } = ports;
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
	return url;
}

/** The running server's `shutdown`: idempotent, it settles once everything is closed. */
function createShutdown({
	config,
	logger,
	opened,
}: Start): RunningServer["shutdown"] {
	let shutdownPromise: Promise<void> | undefined;
	return (reason, { interactive = false } = {}) => {
		shutdownPromise ??= (async () => {
			opened.shuttingDown = true;
			const delayMs = interactive ? 0 : config.shutdownDelayMs;
			logger.info(
				{ reason, delayMs, drainTimeoutMs: config.shutdownTimeoutMs },
				describeShutdown(delayMs, config.shutdownTimeoutMs, interactive),
			);
			await sleep(delayMs);
			await closeAll(opened.closers, logger);
			logger.info("shutdown complete");
		})();
		return shutdownPromise;
	};
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
function observeQueries(metrics: Metrics, target: DatabaseRole): QueryObserver {
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
