/**
 * Opens `serve`'s read replica: its own pool, a router that checks it and
 * sends reads to it or to the primary, and its metrics.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ReadReplicaConfig } from "../config/read-replica.ts";
import { closeOnce, type PoolStats, type QueryObserver } from "./handle.ts";
import { openPostgres } from "./postgres.ts";
import { ReadRouter } from "./read-router.ts";
import { registerReplicaMetrics } from "./replica-metrics.ts";
import type { Database } from "./schema.ts";

export interface OpenReadReplicaOptions {
	/** Where reads go when they leave the replica: the primary's `readDb`. */
	readonly primary: Kysely<Database>;
	/** Where the replica's own metrics (lag, fallbacks, reads) register. */
	readonly registry: Registry;
	/** Receives the duration and outcome of every query on the replica. */
	readonly onQuery?: QueryObserver;
	/** Told of every failed replica connection, after it is logged. */
	readonly onPoolError?: (error: Error) => void;
	readonly logger: Logger;
	readonly queryTimeoutMs: number;
	/** How long one lag check may take: `/ready`'s timeout. */
	readonly checkTimeoutMs: number;
}

/** An open replica: route reads through `router`; `close` stops the checks, then the pool. */
export interface ReadReplicaHandle {
	readonly router: ReadRouter;
	readonly pool: PoolStats;
	close(): Promise<void>;
}

/** Opens the replica's pool (no connection until the first check) and starts checking it. */
export function openReadReplica(
	config: ReadReplicaConfig,
	options: OpenReadReplicaOptions,
): ReadReplicaHandle {
	const { logger } = options;
	let router: ReadRouter | undefined;
	const { countFallback, countRead } = registerReplicaMetrics(
		options.registry,
		() => router?.status(),
	);
	const handle = openPostgres(config.postgres, {
		queryTimeoutMs: options.queryTimeoutMs,
		onQuery: options.onQuery,
		onPoolError: (error) => {
			options.onPoolError?.(error);
			logger.warn(
				{ err: error, target: "replica" },
				"a read-replica connection failed",
			);
		},
	});
	// One connection for the checks, named apart from the reads.
	const check = openPostgres(
		{ ...config.postgres, poolMax: 1 },
		{
			applicationName: "sherpany-replica-check",
			queryTimeoutMs: options.checkTimeoutMs,
			onPoolError: () => {
				// The next check reports the replica unreachable.
			},
		},
	);
	router = new ReadRouter({
		primary: options.primary,
		replica: handle.readDb,
		replicaCheck: check.db,
		maxLagMs: config.maxLagMs,
		checkIntervalMs: config.checkIntervalMs,
		checkTimeoutMs: options.checkTimeoutMs,
		logger,
		onFallback: countFallback,
		onRead: countRead,
	});
	router.start();
	const started = router;
	return {
		router: started,
		pool: handle.pool,
		close: closeOnce(async () => {
			await started.stop();
			await Promise.all([handle.close(), check.close()]);
		}),
	};
}
