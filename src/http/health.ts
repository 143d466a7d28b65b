/** `/health` (liveness, never touches the database) and `/ready` (readiness). */
import type { Router } from "@koa/router";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Migrator } from "kysely/migration";
import { findPendingMigrations } from "../db/migrator.ts";
import { describeLag, type ReplicaStatus } from "../db/read-router.ts";
import { errorCode } from "../error-code.ts";
import { TimeoutError, withTimeout } from "../timeout.ts";
import { shareInFlight } from "./share-in-flight.ts";

/** What `/ready` needs: the database, the migrator, a timeout and whether shutdown began. */
export interface ReadinessDeps {
	// biome-ignore lint/suspicious/noExplicitAny: readiness runs untyped probes only.
	readonly db: Kysely<any>;
	readonly migrator: Migrator;
	readonly readyTimeoutMs: number;
	readonly isShuttingDown: () => boolean;
	/** The read replica's status, when there is one: reported, never a reason for 503. */
	readonly replica?: () => ReplicaStatus;
}

/** A check's result: "ok", or what is wrong in a few words. */
type CheckResult = string;

export interface ReadinessReport {
	readonly status: "ready" | "not ready";
	readonly checks: Readonly<Record<string, CheckResult>>;
}

/**
 * Runs the readiness checks: shutdown, database reachable, schema up to
 * date. With a read replica, `replica` says whether reads go to it; a
 * replica that is down or behind is not a reason to take the pod out of
 * service, since reads then go to the primary (every pod shares the replica,
 * so failing them all would turn its outage into the service's).
 */
export async function checkReadiness(
	deps: ReadinessDeps,
): Promise<ReadinessReport> {
	if (deps.isShuttingDown()) {
		return { status: "not ready", checks: { shutdown: "shutting down" } };
	}
	try {
		await withTimeout(deps.readyTimeoutMs, () =>
			sql`select 1`.execute(deps.db),
		);
	} catch (error) {
		return {
			status: "not ready",
			checks: {
				database: describeFailure(error, deps.readyTimeoutMs),
				...describeReplica(deps.replica),
			},
		};
	}
	let schema: CheckResult;
	try {
		const pending = await withTimeout(deps.readyTimeoutMs, () =>
			findPendingMigrations(deps.migrator),
		);
		schema =
			pending.length === 0
				? "ok"
				: `pending migrations: ${pending.join(", ")}; run sherpany migrate`;
	} catch (error) {
		schema = `could not be checked: ${describeFailure(error, deps.readyTimeoutMs)}`;
	}
	return {
		status: schema === "ok" ? "ready" : "not ready",
		checks: { database: "ok", schema, ...describeReplica(deps.replica) },
	};
}

/** `{ replica: "ok" }`, or why reads go to the primary; nothing without a replica. */
function describeReplica(replica: (() => ReplicaStatus) | undefined): {
	replica?: CheckResult;
} {
	if (!replica) return {};
	const { state, lagSeconds, reason } = replica();
	switch (state) {
		case "ok":
			return { replica: "ok" };
		case "unchecked":
			return { replica: "not checked yet: reading from the primary" };
		case "lagging":
			return {
				replica: `lagging ${describeLag(lagSeconds)} behind: reading from the primary`,
			};
		case "unreachable":
			return {
				replica: `unreachable (${reason}): reading from the primary`,
			};
	}
}

/** A short, safe reason: an error code, never a message that could hold connection details. */
function describeFailure(error: unknown, timeoutMs: number): string {
	if (error instanceof TimeoutError) return `no answer within ${timeoutMs} ms`;
	const code = errorCode(error);
	return code === undefined ? "unreachable" : `unreachable (${code})`;
}

/**
 * Adds `/health` and `/ready` to `router`. Concurrent `/ready` requests
 * share one readiness check, so a flood of them holds one database
 * connection at a time and never takes the pool from `/users`. Shutdown is
 * looked at per request, so none is answered from a check begun before it.
 */
export function addHealthRoutes(router: Router, deps: ReadinessDeps): void {
	const sharedCheck = shareInFlight(() => checkReadiness(deps));
	router.get("/health", (ctx) => {
		ctx.body = { status: "healthy" };
	});
	router.get("/ready", async (ctx) => {
		const report = deps.isShuttingDown()
			? await checkReadiness(deps)
			: await sharedCheck();
		ctx.status = report.status === "ready" ? 200 : 503;
		ctx.body = report;
	});
}
