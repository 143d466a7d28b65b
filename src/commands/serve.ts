/**
 * `sherpany serve`: the HTTP service. It never changes the schema of
 * PostgreSQL (only the embedded database migrates itself); `/ready` reports
 * when it is behind. Shutdown: readiness fails, a delay lets load balancers
 * notice, the listeners stop accepting and drain in-flight requests up to a
 * deadline, then the database closes.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isatty } from "node:tty";
import type Koa from "koa";
import type { Logger } from "pino";
import type { ApiToken } from "../auth/token-file.ts";
import { watchTokenFile } from "../auth/token-watcher.ts";
import {
	catchShutdownSignals,
	exitIfStillRunningAfter,
} from "../cli/signals.ts";
import { type Closer, closeAll } from "../closers.ts";
import type { ApiTokensConfig } from "../config/api-tokens.ts";
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import type { ReadReplicaConfig } from "../config/read-replica.ts";
import type { ServerConfig } from "../config/server.ts";
import { runReadsOn } from "../db/read-router.ts";
import { type AppDeps, createApp } from "../http/app.ts";
import { checkReadiness } from "../http/health.ts";
import { closeServer, type ServeAppOptions, serveApp } from "../http/listen.ts";
import {
	createServeMetrics,
	type DatabaseStart,
	type Databases,
	type Opened,
	openDatabases,
} from "./serve-databases.ts";
import {
	createShutdown,
	type ShutdownOptions,
	shutdownDeadlineMs,
} from "./serve-shutdown.ts";

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

/** A started server. `shutdown` is idempotent and settles once everything is closed. */
export interface RunningServer {
	readonly port: number;
	readonly adminPort: number | undefined;
	shutdown(reason: string, options?: ShutdownOptions): Promise<void>;
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

/** One start of the service: its settings, logger and metrics, and what it has opened. */
interface Start extends DatabaseStart {
	readonly options: ServeOptions;
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
		database: options.database,
		replica: options.replica,
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
		return {
			...ports,
			shutdown: createShutdown(options.server, logger, opened),
		};
	} catch (error) {
		await closeAll(opened.closers, logger);
		throw error;
	}
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
