/**
 * JSON errors, `{"error":{"code","message"}}`. Only errors marked as exposed
 * show their message; everything else is a generic 500 and goes to the log.
 */
import type { Context, Next } from "koa";
import type { Logger } from "pino";
import {
	isDatabaseUnavailable,
	isSchemaMissing,
	isTlsFailure,
} from "../db/classify-error.ts";

/** Seconds a client should wait before retrying while the database is down. */
export const RETRY_AFTER_SECONDS = 5;

/** An error whose message is safe to show to the client. */
export class HttpError extends Error {
	override name = "HttpError";
	readonly expose = true;
	readonly status: number;
	readonly code: string;
	constructor(status: number, code: string, message: string) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

/** Sends a JSON error body with the given status. */
export function sendError(
	ctx: Context,
	status: number,
	code: string,
	message: string,
): void {
	// Status first: Koa turns a default 404 into 200 when a body is set.
	ctx.status = status;
	ctx.body = { error: { code, message } };
}

const CODES_BY_STATUS: Readonly<Record<number, [string, string]>> = {
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
	if (error instanceof HttpError) {
		sendError(ctx, error.status, error.code, error.message);
		return;
	}
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
	// Koa's own client errors (http-errors with expose set), e.g. a malformed body.
	const status = statusOf(error);
	if (status !== undefined && status >= 400 && status < 500) {
		sendError(
			ctx,
			status,
			"bad_request",
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
