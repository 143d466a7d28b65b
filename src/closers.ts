/**
 * What a long-running command must close on its way out, closed in reverse
 * order (Graphile Worker's releasers), each failure logged rather than
 * stopping the rest.
 */
import type { Logger } from "pino";
import { TimeoutError, withTimeout } from "./timeout.ts";

/** Closes one thing a command opened. */
export type Closer = () => Promise<void>;

/** Runs `closers` last-opened first; one that fails is logged and the rest still run. */
export async function closeAll(
	closers: readonly Closer[],
	logger: Logger,
): Promise<void> {
	for (const close of closers.toReversed()) {
		try {
			await close();
		} catch (error) {
			logger.error({ err: error }, "error while closing");
		}
	}
}

/** Runs `close`, but waits no longer than `timeoutMs` for it (a hung database). */
export async function closeWithin(
	timeoutMs: number,
	close: Closer,
	what: string,
	logger: Logger,
): Promise<void> {
	try {
		await withTimeout(timeoutMs, close);
	} catch (error) {
		if (!(error instanceof TimeoutError)) throw error;
		logger.warn({ timeoutMs }, `${what} did not close in time: leaving it`);
	}
}
