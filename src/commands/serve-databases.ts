/**
 * `serve`'s databases: the primary (migrated and seeded when it is the
 * embedded one), the read replica if there is one, and the metrics that
 * read their pools.
 */
import type { Migrator } from "kysely/migration";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { type Closer, closeWithin } from "../closers.ts";
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
import { type HistogramChild, histogramChild } from "../histogram-child.ts";
import { checkReadiness, type ReadinessDeps } from "../http/health.ts";
import { shareInFlight } from "../http/share-in-flight.ts";
import { createMetrics, type Metrics } from "../metrics.ts";
import { DATABASE_CLOSE_TIMEOUT_MS } from "./serve-shutdown.ts";

/** What one start has opened so far: what the metrics read and what shutdown closes. */
export interface Opened {
	/** Closed in reverse order on shutdown (Graphile Worker's releasers). */
	readonly closers: Closer[];
	shuttingDown: boolean;
	primary?: DatabaseHandle;
	replica?: ReadReplicaHandle;
	/** What the readiness metric checks, once the apps' dependencies are built. */
	readiness?: ReadinessDeps;
}

/** What opening the databases needs, and where it records what it opened. */
export interface DatabaseStart {
	readonly database: DatabaseConfig;
	readonly replica: ReadReplicaConfig | undefined;
	readonly config: ServerConfig;
	readonly logger: Logger;
	readonly metrics: Metrics;
	readonly opened: Opened;
}

/** The open databases behind the apps. */
export interface Databases {
	readonly primary: DatabaseHandle;
	readonly migrator: Migrator;
	readonly replica: ReadReplicaHandle | undefined;
}

/** The metrics, reading the pools and the readiness checks once they are open. */
export function createServeMetrics(opened: Opened): Metrics {
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
export async function openDatabases(start: DatabaseStart): Promise<Databases> {
	const databaseClosers: Closer[] = [];
	start.opened.closers.push(async () => {
		await Promise.all(databaseClosers.map((closeOne) => closeOne()));
	});
	const primary = await openPrimary(start);
	start.opened.primary = primary;
	databaseClosers.push(closeDatabaseWithin(primary, "the database", start));
	const migrator = createMigrator(primary.db);
	if (start.database.kind === "embedded")
		await prepareEmbedded(primary, migrator, start.logger);
	const replica = start.replica
		? openReplica(start.replica, primary, start)
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
	{ logger }: DatabaseStart,
): Closer {
	return () =>
		closeWithin(DATABASE_CLOSE_TIMEOUT_MS, database.close, what, logger);
}

/** Opens the configured database, saying so first when it is the embedded one. */
function openPrimary({
	database,
	config,
	logger,
	metrics,
}: DatabaseStart): Promise<DatabaseHandle> {
	return openDatabase(database, {
		// Said before PGlite starts: creating a new database takes seconds,
		// and a first run should not sit silent meanwhile.
		onEmbeddedOpening: () => {
			if (database.kind !== "embedded") return;
			logger.info(
				{ database: describeDatabase(database) },
				`${describeEmbeddedFallback()}; ${describeEmbeddedOpening(database)}`,
			);
			// Written now, not with the next batch: PGlite's start holds the
			// event loop for seconds, and the batch's timer with it.
			logger.flush();
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
	{ config, logger, metrics }: DatabaseStart,
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

/** Records each query's duration on `target`'s series (a child per outcome, made at its first query). */
function observeQueries(metrics: Metrics, target: DatabaseRole): QueryObserver {
	const children = new Map<string, HistogramChild>();
	return (seconds, outcome) => {
		let child = children.get(outcome);
		if (child === undefined) {
			child = histogramChild(metrics.dbQueryDuration, { outcome, target });
			children.set(outcome, child);
		}
		child.observe(seconds);
	};
}
