/**
 * Builds the app on a real database for in-process HTTP tests: fresh
 * registry, silent logger, listening on an ephemeral port, closed at teardown.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Test } from "tap";
import {
	type DatabaseConfig,
	loadDatabaseConfig,
} from "../../src/config/database.ts";
import {
	type DatabaseHandle,
	type OpenDatabaseOptions,
	openDatabase,
} from "../../src/db/connect.ts";
import { createMigrator } from "../../src/db/migrator.ts";
import { runReadsOn } from "../../src/db/read-router.ts";
import { type AppDeps, createApp } from "../../src/http/app.ts";
import { checkReadiness } from "../../src/http/health.ts";
import { serveApp } from "../../src/http/listen.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import { checkedFetch } from "./checked-fetch.ts";

export interface TestApp {
	readonly baseUrl: string;
	readonly database: DatabaseHandle;
	readonly metrics: Metrics;
	readonly server: Server;
	/** Flip to make `/ready` report shutdown. */
	shuttingDown: boolean;
	get(path: string, init?: RequestInit): Promise<Response>;
}

/** The limits serve puts on its listeners. */
export interface ServeLimits {
	readonly maxConnections?: number;
	readonly sendStallTimeoutMs?: number;
	readonly maxPipelined?: number;
}

/** Starts the app against a PostgreSQL URL or any database configuration. */
export async function startApp(
	t: Test,
	target: string | DatabaseConfig,
	overrides: Partial<AppDeps> = {},
	openOptions: OpenDatabaseOptions = {},
	/** Serves the app as serve does (serveApp) with these limits, instead of on a bare server. */
	serveOptions?: ServeLimits,
): Promise<TestApp> {
	const config =
		typeof target === "string"
			? loadDatabaseConfig({
					DATABASE_URL: target,
					PG_CONNECT_TIMEOUT_MS: "1000",
				})
			: target;
	const database = await openDatabase(config, {
		onQuery: (seconds, outcome) =>
			metrics.dbQueryDuration.observe({ outcome, target: "primary" }, seconds),
		onPoolError: () => {},
		...openOptions,
	});
	const migrator = createMigrator(database.db);
	const metrics = createMetrics(new Registry(), {
		pool: () => database.pool,
		readiness: async () =>
			(
				await checkReadiness({
					db: database.db,
					migrator,
					readyTimeoutMs: 1000,
					isShuttingDown: () => false,
				})
			).checks,
	});
	const state = { shuttingDown: false };
	const app = createApp({
		db: database.db,
		// Reads take the path serve gives them: pool.query on PostgreSQL.
		runRead: runReadsOn(database.readDb),
		migrator,
		metrics,
		logger: pino({ level: "silent" }),
		readyTimeoutMs: 1000,
		isShuttingDown: () => state.shuttingDown,
		...overrides,
	});
	let server: Server;
	if (serveOptions) {
		server = await serveApp(app, {
			port: 0,
			host: "127.0.0.1",
			logger: overrides.logger ?? pino({ level: "silent" }),
			isShuttingDown: () => state.shuttingDown,
			...(serveOptions.maxConnections === undefined
				? {}
				: { maxConnections: serveOptions.maxConnections }),
			...(serveOptions.maxPipelined === undefined
				? {}
				: { maxPipelined: serveOptions.maxPipelined }),
			...(serveOptions.sendStallTimeoutMs === undefined
				? {}
				: {
						sendStall: {
							timeoutMs: serveOptions.sendStallTimeoutMs,
							metrics,
						},
					}),
		});
	} else {
		server = createServer(app.callback());
		await new Promise<void>((resolve) =>
			server.listen(0, "127.0.0.1", resolve),
		);
	}
	const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	t.teardown(async () => {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
		await database.close();
	});
	return {
		baseUrl,
		database,
		metrics,
		server,
		get shuttingDown() {
			return state.shuttingDown;
		},
		set shuttingDown(value) {
			state.shuttingDown = value;
		},
		get: (path, init) => checkedFetch(`${baseUrl}${path}`, init),
	};
}
