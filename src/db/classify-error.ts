/** Telling "the database is unavailable" apart from every other failure. */

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
	const code = (error as { code?: unknown }).code;
	if (
		typeof code === "string" &&
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
export function isTlsFailure(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	const code = (error as { code?: unknown }).code;
	if (
		typeof code === "string" &&
		/CERT|SELF_SIGNED|UNABLE_TO_|ERR_SSL_|ERR_TLS_/.test(code)
	)
		return true;
	// node-postgres' words for a server that refuses TLS.
	return error.message.includes("does not support SSL");
}

/** True when the query needs a table that does not exist: the schema is not migrated yet. */
export function isSchemaMissing(error: unknown): boolean {
	return (error as { code?: unknown } | undefined)?.code === "42P01";
}

/** True for an error the PostgreSQL server sent (it has a SQLSTATE and a severity). */
export function isServerError(error: unknown): error is Error {
	if (!(error instanceof Error)) return false;
	const { code, severity } = error as { code?: unknown; severity?: unknown };
	return (
		typeof code === "string" &&
		/^[0-9A-Z]{5}$/.test(code) &&
		typeof severity === "string"
	);
}
