/**
 * The service's Prometheus metrics, registered on a registry the caller owns
 * (never prom-client's global one, so each test gets fresh metrics).
 */
import {
	Counter,
	collectDefaultMetrics,
	Gauge,
	Histogram,
	type Registry,
} from "prom-client";
import type { DatabaseRole, PoolStats } from "./db/handle.ts";
import { describeRuntime, VERSION } from "./version.ts";

export interface Metrics {
	readonly registry: Registry;
	readonly httpRequestDuration: Histogram<"method" | "route" | "status_code">;
	/**
	 * HTTP requests being served: a plain counter that requests change and
	 * `http_requests_in_flight` reads at scrape time, cheaper per request than
	 * a prom-client `Gauge`'s `inc()` and `dec()`.
	 */
	readonly httpRequestsInFlight: { count: number };
	readonly dbQueryDuration: Histogram<"outcome" | "target">;
	readonly dbPoolErrors: Counter<"target">;
	/** Requests answered 503 by a load limit, by reason: `in_flight` or `exports`. */
	readonly httpRequestsShed: Counter<"reason">;
	/** Responses ended because their client read nothing for the send-stall timeout. */
	readonly httpResponsesStalled: Counter;
	/** NDJSON exports running: a plain counter read at scrape time, like `httpRequestsInFlight`. */
	readonly exportsRunning: { count: number };
}

/** Why a request was shed: too many requests in flight, too many exports, or too many pipelined on one connection. */
const SHED_REASONS = ["in_flight", "exports", "pipelined"] as const;

/** The readiness checks reported by `sherpany_readiness_check`, as `/ready` names them. */
const READINESS_CHECKS = ["database", "schema"] as const;

export interface MetricsOptions {
	/** Reads the pool whose connections are reported at scrape time, if there is one. */
	readonly pool?: () => PoolStats | undefined;
	/** The read replica's pool, reported with `target="replica"`, if there is one. */
	readonly replicaPool?: () => PoolStats | undefined;
	/**
	 * Runs `/ready`'s database and schema checks at scrape time and returns
	 * their results by name ("ok" when passing), or undefined before there is
	 * a database to check.
	 */
	readonly readiness?: () => Promise<
		Readonly<Record<string, string>> | undefined
	>;
}

/** Registers every metric on `registry` and returns the ones code updates. */
export function createMetrics(
	registry: Registry,
	options: MetricsOptions = {},
): Metrics {
	registerDefaultMetrics(registry);
	const { pool, replicaPool, readiness } = options;
	new Gauge({
		name: "sherpany_build_info",
		help: "Always 1; labelled with the version and the runtime.",
		labelNames: ["version", "runtime"],
		registers: [registry],
	}).set({ version: VERSION, runtime: describeRuntime() }, 1);
	registerPoolGauge(registry, pool, replicaPool);
	registerReadinessGauge(registry, readiness);
	const httpRequestsInFlight = { count: 0 };
	new Gauge({
		name: "http_requests_in_flight",
		help: "HTTP requests being served right now.",
		registers: [registry],
		collect() {
			this.set(httpRequestsInFlight.count);
		},
	});
	const httpRequestsShed = new Counter({
		name: "sherpany_http_requests_shed_total",
		help: "Requests answered 503 by a load limit before any work, by reason (in_flight: too many requests at once; exports: too many NDJSON exports; pipelined: a connection closed for pipelining too many requests, each counted once).",
		labelNames: ["reason"],
		registers: [registry],
	});
	// Both series exist from the start, so rate() sees the first shed request.
	for (const reason of SHED_REASONS) httpRequestsShed.inc({ reason }, 0);
	const exportsRunning = { count: 0 };
	new Gauge({
		name: "sherpany_exports_running",
		help: "NDJSON exports of /users being streamed right now.",
		registers: [registry],
		collect() {
			this.set(exportsRunning.count);
		},
	});
	return {
		registry,
		httpRequestDuration: new Histogram({
			name: "http_request_duration_seconds",
			help: "HTTP request duration by method, route template and status code.",
			labelNames: ["method", "route", "status_code"],
			buckets: [
				0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
			],
			registers: [registry],
		}),
		httpRequestsInFlight,
		dbQueryDuration: new Histogram({
			name: "sherpany_db_query_duration_seconds",
			help: "Database query duration by outcome (success or error) and target (primary, replica).",
			labelNames: ["outcome", "target"],
			buckets: [
				0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
			],
			registers: [registry],
		}),
		dbPoolErrors: new Counter({
			name: "sherpany_db_pool_errors_total",
			help: "Errors on idle pooled connections, such as the server closing them, by target (primary, replica).",
			labelNames: ["target"],
			registers: [registry],
		}),
		httpRequestsShed,
		httpResponsesStalled: new Counter({
			name: "sherpany_http_responses_stalled_total",
			help: "Responses ended because their client read nothing for SEND_STALL_TIMEOUT_MS.",
			registers: [registry],
		}),
		exportsRunning,
	};
}

/** Pool connections by state and target, read from the pools at scrape time. */
function registerPoolGauge(
	registry: Registry,
	pool: MetricsOptions["pool"],
	replicaPool: MetricsOptions["replicaPool"],
): void {
	new Gauge({
		name: "sherpany_db_pool_connections",
		help: "Database pool connections by state (total, idle, and clients waiting for one) and target (primary, replica).",
		labelNames: ["state", "target"],
		registers: [registry],
		collect() {
			const pools: [DatabaseRole, PoolStats | undefined][] = [
				["primary", pool?.()],
				["replica", replicaPool?.()],
			];
			for (const [target, stats] of pools) {
				if (!stats) continue;
				this.set({ state: "total", target }, stats.totalCount);
				this.set({ state: "idle", target }, stats.idleCount);
				this.set({ state: "waiting", target }, stats.waitingCount);
			}
		},
	});
}

/** Each readiness check as 1 or 0, run at scrape time. */
function registerReadinessGauge(
	registry: Registry,
	readiness: MetricsOptions["readiness"],
): void {
	new Gauge({
		name: "sherpany_readiness_check",
		help: "1 when a readiness check passes at scrape time, else 0: database (reachable in time) and schema (no pending migration).",
		labelNames: ["check"],
		registers: [registry],
		async collect() {
			const checks = await readiness?.();
			if (!checks) return;
			// A schema that could not be checked (database unreachable) is not ready either.
			for (const check of READINESS_CHECKS) {
				this.set({ check }, checks[check] === "ok" ? 1 : 0);
			}
		},
	});
}

/**
 * prom-client's defaults that break the Prometheus naming rules: gauges with
 * a `_total` suffix, which `promtool check metrics` rejects (exit 3). Each is
 * the sum of its per-type twin (`nodejs_active_handles{type}` and so on), so
 * `sum without (type) (nodejs_active_handles)` gives the same number and
 * nothing is lost by dropping them (prometheus/client_js#283).
 */
export const DROPPED_DEFAULT_METRICS = [
	"nodejs_active_handles_total",
	"nodejs_active_requests_total",
	"nodejs_active_resources_total",
] as const;

/**
 * Process and runtime metrics. They rely on Node internals that Deno does not
 * all provide, so a runtime without them serves the rest rather than failing.
 */
function registerDefaultMetrics(registry: Registry): void {
	try {
		collectDefaultMetrics({ register: registry });
	} catch {
		// Under Deno prom-client's process and runtime collectors throw (they read
		// Node internals Deno lacks); the service's own metrics still register below.
	}
	for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
