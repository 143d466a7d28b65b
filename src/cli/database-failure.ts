/**
 * A failure to reach or use the database, told to the operator as what
 * failed and what to check, naming the database without its password.
 */
import { type DatabaseConfig, describeDatabase } from "../config/database.ts";
import {
	isDatabaseUnavailable,
	isServerError,
	isTlsFailure,
} from "../db/classify-error.ts";
import { errorReason } from "../error-code.ts";
import { CommandError, hasExitCode } from "../exit-codes.ts";

/**
 * Runs `work` on the database `database` names. A failure of that database
 * is rethrown as a CommandError that says what to check; any other error
 * is rethrown as it is.
 */
export async function onDatabase<T>(
	database: DatabaseConfig,
	work: () => Promise<T>,
): Promise<T> {
	try {
		return await work();
	} catch (error) {
		const message = hasExitCode(error)
			? undefined
			: describeDatabaseFailure(error, database);
		if (message === undefined) throw error;
		throw new CommandError(message, { cause: error });
	}
}

/** What a failure to reach or use the database means for the operator, if it is one. */
function describeDatabaseFailure(
	error: unknown,
	database: DatabaseConfig,
): string | undefined {
	const where = describeDatabase(database);
	if (isTlsFailure(error))
		return `TLS to the database at ${where} failed (${error.message}): check --ssl-mode (PGSSLMODE) and --ssl-root-cert (PGSSLROOTCERT)`;
	if (isDatabaseUnavailable(error))
		return `cannot reach the database at ${where} (${errorReason(error)}): check DATABASE_URL or PGHOST, or pass --database-url`;
	if (isServerError(error))
		return `the database at ${where} refused: ${error.message}`;
	return undefined;
}
