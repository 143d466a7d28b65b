/**
 * How `serve` shuts down: readiness fails, a delay lets load balancers
 * notice, the listeners drain in-flight requests up to a deadline, then the
 * databases close; and the deadline past which the process is stuck.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { type Closer, closeAll } from "../closers.ts";
import type { ServerConfig } from "../config/server.ts";

/** How a shutdown was asked for. */
export interface ShutdownOptions {
	/**
	 * A person pressed Ctrl-C at a terminal: no orchestrator or load balancer
	 * is waiting for readiness to fail, so the delay is skipped and the log
	 * line says how to exit at once.
	 */
	readonly interactive?: boolean;
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
const SHUTDOWN_SLACK_MS = 5000;

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

/** The running server's `shutdown`: idempotent, it settles once everything is closed. */
export function createShutdown(
	config: ServerConfig,
	logger: Logger,
	opened: { readonly closers: readonly Closer[]; shuttingDown: boolean },
): (reason: string, options?: ShutdownOptions) => Promise<void> {
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
