/**
 * Opens `serve`'s read replica: its own pool, a router that checks it and
 * sends reads to it or to the primary, and its metrics.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { ReadReplicaConfig } from "../config/read-replica.ts";
import type { Metrics, PoolStats } from "../metrics.ts";
import { closeOnce } from "./connect.ts";
import { openPostgres } from "./postgres.ts";
import { ReadRouter } from "./read-router.ts";
import { registerReplicaMetrics } from "./replica-metrics.ts";
import type { Database } from "./schema.ts";

export interface OpenReadReplicaOptions {
	/** Where reads go when they leave the replica: the primary's `reads`. */
	readonly primary: Kysely<Database>;
	readonly metrics: Metrics;
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
	const { metrics, logger } = options;
	let router: ReadRouter | undefined;
	const { countFallback, countRead } = registerReplicaMetrics(
		metrics.registry,
		() => router?.status(),
	);
	const handle = openPostgres(config.postgres, {
		queryTimeoutMs: options.queryTimeoutMs,
		onQuery: (seconds, outcome) =>
			metrics.dbQueryDuration.observe({ outcome, target: "replica" }, seconds),
		onPoolError: (error) => {
			metrics.dbPoolErrors.inc({ target: "replica" });
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
		replica: handle.reads,
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
		pool: handle.pool as PoolStats,
		close: closeOnce(async () => {
			await started.stop();
			await Promise.all([handle.close(), check.close()]);
		}),
	};
}
