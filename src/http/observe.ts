/**
 * The first middleware: gives every request an id (echoed from
 * `X-Request-Id` or generated), and when the response is finished — streams
 * included — logs one JSON line and records the duration metric.
 */
import { randomUUID } from "node:crypto";
import type { RouterContext } from "@koa/router";
import type { Context, Next } from "koa";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";

/** Incoming ids are echoed only if short and plain, so they are safe in headers and logs. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Routes that orchestrators and Prometheus call every few seconds on every
 * pod. Their successful answers are logged at `debug`, so `info` is not
 * flooded with probes (and does not pay for them); failures stay at `info`.
 */
const PROBE_ROUTES = new Set(["/health", "/ready", "/metrics"]);

/** The route template label; every unknown path shares one value to bound cardinality. */
const UNMATCHED_ROUTE = "(unmatched)";

/**
 * The method label: the methods of RFC 9110 keep their name, and every other
 * one Node parses (WebDAV's, RTSP's… some forty a client can choose) shares
 * `_OTHER`, as in OpenTelemetry's HTTP conventions: series a client cannot
 * multiply.
 */
const KNOWN_METHODS = new Set([
	"GET",
	"HEAD",
	"POST",
	"PUT",
	"PATCH",
	"DELETE",
	"OPTIONS",
	"CONNECT",
	"TRACE",
]);
const OTHER_METHOD = "_OTHER";

export function observeRequests(logger: Logger, metrics: Metrics) {
	// The request line's fields are fixed and hold no secrets, so it skips the
	// redaction that every other line gets: redacting (wildcard paths walk
	// each object) cost as much as writing the line (bench/RESULTS.md).
	const requestLog = logger.child({}, { redact: [] });
	return async function observeRequestsMiddleware(
		ctx: Context,
		next: Next,
	): Promise<void> {
		const started = performance.now();
		const incoming = ctx.get("X-Request-Id");
		const requestId = SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
		ctx.state.requestId = requestId;
		ctx.set("X-Request-Id", requestId);
		metrics.httpRequestsInFlight.count++;
		ctx.res.once("close", () => {
			metrics.httpRequestsInFlight.count--;
			const seconds = (performance.now() - started) / 1000;
			// The template of the route that ran (@koa/router's public
			// `routerPath`); unset when no route matched the path and method.
			const route = (ctx as RouterContext).routerPath ?? UNMATCHED_ROUTE;
			const status = ctx.res.writableFinished ? ctx.status : 499;
			metrics.httpRequestDuration.observe(
				{
					method: KNOWN_METHODS.has(ctx.method) ? ctx.method : OTHER_METHOD,
					route,
					status_code: String(status),
				},
				seconds,
			);
			const level = status < 400 && PROBE_ROUTES.has(route) ? "debug" : "info";
			// Checked first: building the line's fields is most of its cost.
			if (!requestLog.isLevelEnabled(level)) return;
			requestLog[level](
				{
					requestId,
					method: ctx.method,
					route,
					path: ctx.path,
					status,
					durationMs: Math.round(seconds * 1e6) / 1e3,
					// The accepted API token's name, never the token; absent
					// (and left out of the line) when authentication is off.
					tokenName: ctx.state.tokenName,
				},
				"request",
			);
		});
		await next();
	};
}
