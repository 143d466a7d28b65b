/**
 * The read replica's metrics, registered only when `serve` has a replica:
 * its lag, whether reads have fallen back to the primary, and how often
 * they did.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { DatabaseRole } from "./handle.ts";
import type { FallbackReason, ReplicaStatus } from "./read-router.ts";

/** What the router reports to the metrics. */
export interface ReplicaCounters {
	readonly countFallback: (reason: FallbackReason) => void;
	readonly countRead: (target: DatabaseRole) => void;
}

/** Registers the replica metrics on `registry`, read from `status` at scrape time. */
export function registerReplicaMetrics(
	registry: Registry,
	status: () => ReplicaStatus | undefined,
): ReplicaCounters {
	new Gauge({
		name: "sherpany_db_replica_lag_seconds",
		help: "How far the read replica was behind the primary at its last check (0 when it had replayed all it received); NaN before the first check or when nothing bounds it.",
		registers: [registry],
		collect() {
			this.set(status()?.lagSeconds ?? Number.NaN);
		},
	});
	new Gauge({
		name: "sherpany_db_replica_fallback",
		help: "1 while reads go to the primary because the read replica is unreachable, lagging beyond the bound or not checked yet; 0 while they go to the replica.",
		registers: [registry],
		collect() {
			this.set(status()?.target === "replica" ? 0 : 1);
		},
	});
	const fallbacks = registerCounter(registry, {
		name: "sherpany_db_replica_fallbacks_total",
		help: "Times reads left the read replica for the primary, by reason (unreachable, lagging).",
		label: "reason",
		values: ["unreachable", "lagging"],
	});
	const reads = registerCounter(registry, {
		name: "sherpany_db_reads_total",
		help: "Reads (a /users page or an export batch) that succeeded, by the database that served them (primary, replica).",
		label: "target",
		values: ["primary", "replica"],
	});
	return {
		countFallback: (reason) => fallbacks.inc({ reason }),
		countRead: (target) => reads.inc({ target }),
	};
}

interface CounterOptions<Label extends string> {
	readonly name: string;
	readonly help: string;
	/** The one label, and every value it takes. */
	readonly label: Label;
	readonly values: readonly string[];
}

/**
 * A counter with one label whose every series exists from the start, at 0,
 * so that rate() sees the first increment.
 */
function registerCounter<Label extends string>(
	registry: Registry,
	{ name, help, label, values }: CounterOptions<Label>,
): Counter<Label> {
	const counter = new Counter({
		name,
		help,
		labelNames: [label],
		registers: [registry],
	});
	for (const value of values)
		counter.inc({ [label]: value } as Partial<Record<Label, string>>, 0);
	return counter;
}
