/**
 * The first middleware: gives every request an id (echoed from
 * `X-Request-Id` or generated), and when the response is finished — streams
 * included — logs one JSON line and records the duration metric.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { RouterContext } from "@koa/router";
import type { Context, Next } from "koa";
import type { Logger } from "pino";
import { type HistogramChild, histogramChild } from "../histogram-child.ts";
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

/** What the close listener needs of a request, kept on its response: no closure per request. */
const OBSERVED = Symbol("sherpany.observedRequest");

interface ObservedResponse extends ServerResponse {
	[OBSERVED]?: Context;
}

export function observeRequests(logger: Logger, metrics: Metrics) {
	// The request line's fields are fixed and hold no secrets, so it skips the
	// redaction that every other line gets: redacting (wildcard paths walk
	// each object) cost as much as writing the line (bench/RESULTS.md).
	const requestLog = logger.child({}, { redact: [] });
	const durationOf = durationChildren(metrics);
	const { httpRequestsInFlight } = metrics;
	// `this` is the response; one function for every request.
	function onClose(this: ObservedResponse): void {
		const ctx = this[OBSERVED];
		if (ctx === undefined) return;
		this[OBSERVED] = undefined;
		httpRequestsInFlight.count--;
		const seconds =
			(performance.now() - (ctx.state.startedAt as number)) / 1000;
		// The template of the route that ran (@koa/router's public
		// `routerPath`); unset when no route matched the path and method.
		const route = (ctx as RouterContext).routerPath ?? UNMATCHED_ROUTE;
		const status = this.writableFinished ? ctx.status : 499;
		const method = ctx.method;
		durationOf(method, route, status).observe(seconds);
		const level = status < 400 && PROBE_ROUTES.has(route) ? "debug" : "info";
		// Checked first: building the line's fields is most of its cost.
		if (!requestLog.isLevelEnabled(level)) return;
		requestLog[level](
			{
				requestId: ctx.state.requestId,
				method,
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
	}
	// Not async: it has nothing to do after the rest has run, so it hands
	// back the rest's promise rather than wrapping it in another.
	return function observeRequestsMiddleware(
		ctx: Context,
		next: Next,
	): Promise<void> {
		ctx.state.startedAt = performance.now();
		const incoming = ctx.req.headers["x-request-id"];
		const requestId =
			typeof incoming === "string" && SAFE_REQUEST_ID.test(incoming)
				? incoming
				: randomUUID();
		ctx.state.requestId = requestId;
		ctx.res.setHeader("X-Request-Id", requestId);
		httpRequestsInFlight.count++;
		(ctx.res as ObservedResponse)[OBSERVED] = ctx;
		ctx.res.on("close", onClose);
		return next();
	};
}

/**
 * The duration histogram's child for a method, route and status, made once
 * and then looked up (src/histogram-child.ts). Each key is bounded (the methods above, the route templates,
 * the statuses), so the cache is too.
 */
function durationChildren(
	metrics: Metrics,
): (method: string, route: string, status: number) => HistogramChild {
	const histogram = metrics.httpRequestDuration;
	const byMethod = new Map<string, Map<string, Map<number, HistogramChild>>>();
	return (method, route, status) => {
		const label = KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
		let byRoute = byMethod.get(label);
		if (byRoute === undefined) {
			byRoute = new Map();
			byMethod.set(label, byRoute);
		}
		let byStatus = byRoute.get(route);
		if (byStatus === undefined) {
			byStatus = new Map();
			byRoute.set(route, byStatus);
		}
		let child = byStatus.get(status);
		if (child === undefined) {
			child = histogramChild(histogram, {
				method: label,
				route,
				status_code: String(status),
			});
			byStatus.set(status, child);
		}
		return child;
	};
}
