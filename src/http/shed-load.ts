/**
 * Load shedding: at most `maxInFlight` requests are handled at once. A
 * request counts from here until its handler has returned, that is until
 * its body is handed to the socket (a page) or its stream has begun (an
 * export, which the export limit bounds instead). Past the bound a request
 * gets a 503 with `Retry-After` at once, before any route runs, so a flood
 * never reaches the database or queues for the pool. `/health` is exempt:
 * it does no work, and the liveness probe must keep passing under a flood.
 */
import type { Context, Next } from "koa";
import type { Metrics } from "../metrics.ts";
import { sendOverloaded } from "./error-responses.ts";

/** The path that is never shed: the liveness check. */
const NEVER_SHED = "/health";

export function shedLoad(maxInFlight: number, metrics: Metrics) {
	let handling = 0;
	// Made once: the count goes down however the rest ended, with no
	// closure or async frame per request.
	const done = (): void => {
		handling--;
	};
	const failed = (error: unknown): never => {
		handling--;
		throw error;
	};
	return function shedLoadMiddleware(ctx: Context, next: Next): Promise<void> {
		if (handling >= maxInFlight && ctx.path !== NEVER_SHED) {
			metrics.httpRequestsShed.inc({ reason: "in_flight" });
			sendOverloaded(ctx, "the server is busy, retry later");
			return Promise.resolve();
		}
		handling++;
		return next().then(done, failed);
	};
}
