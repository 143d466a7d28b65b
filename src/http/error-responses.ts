/**
 * JSON errors, `{"error":{"code","message"}}`. Only errors marked as exposed
 * show their message; everything else is a generic 500 and goes to the log.
 */
import createHttpError from "http-errors";
import type { Context, Next } from "koa";
import type { Logger } from "pino";
import {
	isDatabaseUnavailable,
	isSchemaMissing,
	isTlsFailure,
} from "../db/classify-error.ts";
import { errorCode } from "../error-code.ts";

/** Seconds a client should wait before retrying while the database is down. */
export const RETRY_AFTER_SECONDS = 5;

/** The codes of the client errors that handlers raise with `clientError`. */
const CLIENT_ERROR_CODES = ["invalid_parameter"] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** Every `error.code` a JSON error body can carry. */
export type ErrorCode =
	| ClientErrorCode
	| "bad_request"
	| "unauthorized"
	| "not_found"
	| "method_not_allowed"
	| "not_implemented"
	| "database_unavailable"
	| "schema_not_ready"
	| "overloaded"
	| "internal";

/**
 * A client error whose message and code reach the client: Koa's own
 * http-errors error (exposed, as every 4xx is), carrying its code.
 */
export function clientError(
	status: number,
	code: ClientErrorCode,
	message: string,
): createHttpError.HttpError {
	return createHttpError(status, message, { code });
}

/** Sends a JSON error body with the given status. */
export function sendError(
	ctx: Context,
	status: number,
	code: ErrorCode,
	message: string,
): void {
	// Status first: Koa turns a default 404 into 200 when a body is set.
	ctx.status = status;
	ctx.body = { error: { code, message } };
}

/** Seconds a client should wait before retrying a request that a load limit turned away. */
export const OVERLOADED_RETRY_AFTER_SECONDS = 1;

/** A 503 from a load limit: no work was done, and the client may retry shortly. */
export function sendOverloaded(ctx: Context, message: string): void {
	ctx.set("Retry-After", String(OVERLOADED_RETRY_AFTER_SECONDS));
	sendError(ctx, 503, "overloaded", message);
}

const CODES_BY_STATUS: Readonly<Record<number, [ErrorCode, string]>> = {
	404: ["not_found", "no such resource"],
	405: ["method_not_allowed", "method not allowed"],
	501: ["not_implemented", "method not implemented"],
};

/**
 * Catches whatever the handlers throw and turns it into a JSON error, and
 * gives the router's bodiless 404/405/501 answers a JSON body too.
 */
export function handleErrors(logger: Logger) {
	return async function handleErrorsMiddleware(
		ctx: Context,
		next: Next,
	): Promise<void> {
		try {
			await next();
		} catch (error) {
			respondToError(ctx, error, logger);
			return;
		}
		const known = CODES_BY_STATUS[ctx.status];
		if (known && ctx.body == null) {
			const [code, message] = known;
			sendError(
				ctx,
				ctx.status,
				code,
				ctx.status === 404 ? `no route for ${ctx.method} ${ctx.path}` : message,
			);
		}
	};
}

function respondToError(ctx: Context, error: unknown, logger: Logger): void {
	if (isDatabaseUnavailable(error) || isTlsFailure(error)) {
		logger.warn(
			{ err: error, requestId: ctx.state.requestId },
			"database unavailable",
		);
		ctx.set("Retry-After", String(RETRY_AFTER_SECONDS));
		sendError(
			ctx,
			503,
			"database_unavailable",
			"the database is unavailable, retry later",
		);
		return;
	}
	if (isSchemaMissing(error)) {
		// Normal before `sherpany migrate` has run; /ready says the same.
		logger.warn({ requestId: ctx.state.requestId }, "schema not migrated");
		ctx.set("Retry-After", String(RETRY_AFTER_SECONDS));
		sendError(
			ctx,
			503,
			"schema_not_ready",
			"the database schema is not ready, retry later",
		);
		return;
	}
	// Client errors: ours (clientError, with a code) and Koa's own
	// (http-errors with expose set, e.g. a malformed body).
	const status = statusOf(error);
	if (status !== undefined && status >= 400 && status < 500) {
		sendError(
			ctx,
			status,
			clientErrorCodeOf(error) ?? "bad_request",
			error instanceof Error ? error.message : "bad request",
		);
		return;
	}
	logger.error(
		{ err: error, requestId: ctx.state.requestId },
		"unhandled error",
	);
	sendError(ctx, 500, "internal", "internal server error");
}

function statusOf(error: unknown): number | undefined {
	if (
		error &&
		typeof error === "object" &&
		"expose" in error &&
		error.expose === true &&
		"status" in error
	) {
		return typeof error.status === "number" ? error.status : undefined;
	}
	return undefined;
}

/** The code `clientError` gave the error; undefined for anyone else's. */
function clientErrorCodeOf(error: unknown): ClientErrorCode | undefined {
	const code = errorCode(error);
	return CLIENT_ERROR_CODES.find((known) => known === code);
}
