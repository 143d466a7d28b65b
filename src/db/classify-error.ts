/** Telling "the database is unavailable" apart from every other failure. */
import { errorCode } from "../error-code.ts";

/** Node socket errors that mean the server cannot be reached. */
const NETWORK_CODES = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"ENOTFOUND",
	"EHOSTUNREACH",
	"EPIPE",
	"EAI_AGAIN",
]);

/**
 * PostgreSQL SQLSTATEs meaning "not now": class 08 (connection exception),
 * 57P01–57P03 (shutting down, crash recovery, cannot connect now) and
 * 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
	return (
		code.startsWith("08") || ["57P01", "57P02", "57P03", "53300"].includes(code)
	);
}

/** Messages node-postgres uses for its own connection failures, which carry no code. */
const POOL_MESSAGES = [
	"timeout exceeded when trying to connect",
	"Connection terminated",
	"Client has encountered a connection error",
	// The query timeout (src/db/client-queries.ts): the server did not answer in time.
	"Query read timeout",
];

/** True when the error means the database cannot be reached right now, so a retry may succeed. */
export function isDatabaseUnavailable(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	const code = errorCode(error);
	if (
		code !== undefined &&
		(NETWORK_CODES.has(code) || isUnavailableSqlState(code))
	)
		return true;
	if (POOL_MESSAGES.some((message) => error.message.includes(message)))
		return true;
	// AggregateError from a host with several addresses, or an error wrapping its cause.
	if (error instanceof AggregateError)
		return error.errors.some(isDatabaseUnavailable);
	return error.cause !== undefined && isDatabaseUnavailable(error.cause);
}

/**
 * True when the TLS handshake with the database failed: a certificate that
 * does not verify, or a server without TLS. Retrying will not help; the
 * sslmode or CA bundle must change.
 */
export function isTlsFailure(error: unknown): error is Error {
	if (!(error instanceof Error)) return false;
	if (
		/CERT|SELF_SIGNED|UNABLE_TO_|ERR_SSL_|ERR_TLS_/.test(errorCode(error) ?? "")
	)
		return true;
	// node-postgres' words for a server that refuses TLS.
	return error.message.includes("does not support SSL");
}

/** True when the query needs a table that does not exist: the schema is not migrated yet. */
export function isSchemaMissing(error: unknown): boolean {
	return errorCode(error) === "42P01";
}

/** True for an error the PostgreSQL server sent (it has a SQLSTATE and a severity). */
export function isServerError(error: unknown): error is Error {
	if (!(error instanceof Error)) return false;
	const code = errorCode(error);
	return (
		code !== undefined &&
		/^[0-9A-Z]{5}$/.test(code) &&
		"severity" in error &&
		typeof error.severity === "string"
	);
}
