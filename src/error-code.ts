/**
 * The `code` an error carries: a Node system error's (ECONNREFUSED,
 * ENOENT), a PostgreSQL SQLSTATE (42P01), or a library's own (csv-parse's
 * CSV_QUOTE_NOT_CLOSED). A leaf: it imports nothing of the project.
 */

/** The error's string `code`, or undefined when it has none. */
export function errorCode(error: unknown): string | undefined {
	if (typeof error !== "object" || error === null || !("code" in error))
		return undefined;
	return typeof error.code === "string" ? error.code : undefined;
}

/** A short reason for a one-line message: the error's code, else its message. */
export function errorReason(error: unknown): string {
	return (
		errorCode(error) ?? (error instanceof Error ? error.message : String(error))
	);
}
