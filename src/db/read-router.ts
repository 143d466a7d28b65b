/**
 * Sends reads to a streaming replica while it is reachable and close enough
 * behind, and to the primary otherwise, with no restart either way.
 *
 * A timer (unref'd) measures the replica every `checkIntervalMs`
 * (src/db/replica-lag.ts). Reads go to the replica only after a check found
 * it within `maxLagMs`; a read that finds it unreachable is run again on the
 * primary at once and marks it unreachable until a check says otherwise.
 * Every switch is one log line and a callback (the metrics count them).
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { errorCode } from "../error-code.ts";
import { TimeoutError, withTimeout } from "../timeout.ts";
import { isDatabaseUnavailable } from "./classify-error.ts";
import type { DatabaseRole } from "./handle.ts";
import {
	computeLagSeconds,
	type LagMemory,
	sampleReplay,
} from "./replica-lag.ts";
import type { Database } from "./schema.ts";

/** The replica as the last check or read saw it. */
export type ReplicaState = "unchecked" | "ok" | "lagging" | "unreachable";

/** Why reads left the replica. */
export type FallbackReason = "lagging" | "unreachable";

/** Runs `work` on the database a read should use. */
export type ReadUsing = <T>(
	work: (db: Kysely<Database>) => Promise<T>,
) => Promise<T>;

/** What `/ready` and the metrics report about the replica. */
export interface ReplicaStatus {
	readonly state: ReplicaState;
	/** Where reads go now. */
	readonly target: DatabaseRole;
	/** Seconds behind at the last successful check; undefined before one, or when unbounded. */
	readonly lagSeconds: number | undefined;
	/** A short reason for `unreachable`: an error code, never a message. */
	readonly reason: string | undefined;
}

export interface ReadRouterOptions {
	readonly primary: Kysely<Database>;
	readonly replica: Kysely<Database>;
	/**
	 * The replica again, through a connection of its own, for the checks: a
	 * busy read pool must not delay them, and `pg_stat_activity` tells them
	 * apart from reads.
	 */
	readonly replicaCheck: Kysely<Database>;
	readonly maxLagMs: number;
	readonly checkIntervalMs: number;
	/** How long one check may take before the replica counts as unreachable. */
	readonly checkTimeoutMs: number;
	readonly logger: Logger;
	/** Called each time reads leave the replica. */
	readonly onFallback?: (reason: FallbackReason) => void;
	/** Called for each read that succeeded, with where it ran. */
	readonly onRead?: (target: DatabaseRole) => void;
}

/** SQLSTATE of a query a standby cancelled because it conflicted with replay. */
const RECOVERY_CONFLICT = "40001";

/** Routes reads between a replica and the primary. */
export class ReadRouter {
	readonly #options: ReadRouterOptions;
	readonly #memory: LagMemory = { lastCaughtUpSeconds: undefined };
	#state: ReplicaState = "unchecked";
	#lagSeconds: number | undefined;
	#reason: string | undefined;
	#timer: NodeJS.Timeout | undefined;
	#checking: Promise<void> | undefined;

	constructor(options: ReadRouterOptions) {
		this.#options = options;
	}

	/** Runs `work` on the replica when it is healthy, else on the primary. */
	readonly runRead: ReadUsing = async (work) => {
		if (this.#state !== "ok") return this.#runOn("primary", work);
		try {
			return await this.#runOn("replica", work);
		} catch (error) {
			if (isDatabaseUnavailable(error)) {
				this.#switchTo("unreachable", describeUnreachable(error));
			} else if (errorCode(error) !== RECOVERY_CONFLICT) {
				throw error;
			}
			// A read has no side effect: running it again on the primary is safe.
			return this.#runOn("primary", work);
		}
	};

	async #runOn<T>(
		target: DatabaseRole,
		work: (db: Kysely<Database>) => Promise<T>,
	): Promise<T> {
		const result = await work(this.#options[target]);
		this.#options.onRead?.(target);
		return result;
	}

	/** The replica's state now. */
	status(): ReplicaStatus {
		return {
			state: this.#state,
			target: this.#state === "ok" ? "replica" : "primary",
			lagSeconds: this.#lagSeconds,
			reason: this.#reason,
		};
	}

	/** Checks the replica now (one check at a time) and switches reads accordingly. */
	check(): Promise<void> {
		this.#checking ??= this.#runCheck().finally(() => {
			this.#checking = undefined;
		});
		return this.#checking;
	}

	/** Checks at once, then every `checkIntervalMs`, until `stop`. */
	start(): void {
		if (this.#timer) return;
		void this.check();
		this.#timer = setInterval(
			() => void this.check(),
			this.#options.checkIntervalMs,
		);
		// Checks alone must not keep the process alive.
		this.#timer.unref();
	}

	/** Stops the checks; waits for one in flight. */
	async stop(): Promise<void> {
		clearInterval(this.#timer);
		this.#timer = undefined;
		await this.#checking;
	}

	async #runCheck(): Promise<void> {
		const { replicaCheck, checkTimeoutMs, maxLagMs } = this.#options;
		let lag: number;
		try {
			lag = computeLagSeconds(
				await withTimeout(checkTimeoutMs, () => sampleReplay(replicaCheck)),
				this.#memory,
			);
		} catch (error) {
			this.#switchTo(
				"unreachable",
				error instanceof TimeoutError
					? `no answer within ${checkTimeoutMs} ms`
					: describeUnreachable(error),
			);
			return;
		}
		this.#lagSeconds = Number.isFinite(lag) ? lag : undefined;
		this.#switchTo(lag * 1000 > maxLagMs ? "lagging" : "ok", undefined);
	}

	#switchTo(state: ReplicaState, reason: string | undefined): void {
		const before = this.#state;
		this.#state = state;
		this.#reason = reason;
		if (state === before) return;
		const { logger, maxLagMs } = this.#options;
		const lagSeconds = this.#lagSeconds;
		if (state === "ok") {
			logger.info(
				{ replica: state, lagSeconds },
				before === "unchecked"
					? "reads go to the read replica"
					: "the read replica is healthy again: reads return to it",
			);
			return;
		}
		if (state === "lagging") {
			logger.warn(
				{ replica: state, lagSeconds, maxLagMs },
				`the read replica is ${describeLag(lagSeconds)} behind, beyond the ${maxLagMs} ms bound: reads go to the primary`,
			);
		} else {
			logger.warn(
				{ replica: state, reason },
				`the read replica is unreachable (${reason}): reads go to the primary`,
			);
		}
		this.#options.onFallback?.(state as FallbackReason);
	}
}

/** `2.5 s`, or `an unknown time` when nothing bounds the lag. */
export function describeLag(lagSeconds: number | undefined): string {
	return lagSeconds === undefined
		? "an unknown time"
		: `${lagSeconds.toFixed(1)} s`;
}

/** Runs reads on one database: what `/users` uses when there is no replica. */
export function runReadsOn(db: Kysely<Database>): ReadUsing {
	return (work) => work(db);
}

/** A short, safe reason: an error code, never a message that could hold connection details. */
function describeUnreachable(error: unknown): string {
	const code = errorCode(error);
	if (code !== undefined) return code;
	if (error instanceof AggregateError)
		return describeUnreachable(error.errors[0]);
	return "no connection";
}
