/**
 * The few typed errors the CLI maps to exit codes. Anything else is a bug or
 * an unexpected runtime failure and exits 1.
 */

/** Exit codes shared by every subcommand. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad configuration: a flag or an environment variable that cannot be used. Exit 2. */
export class ConfigError extends Error {
	override name = "ConfigError";
}

/** The command line itself is wrong (unknown flag, missing argument). Exit 2. */
export class UsageError extends Error {
	override name = "UsageError";
}

/** The command ran and failed for a reason the user can act on. Exit 1, no stack trace. */
export class CommandError extends Error {
	override name = "CommandError";
}

/** Maps an error to the process exit code. */
export function exitCodeFor(error: unknown): number {
	if (error instanceof ConfigError || error instanceof UsageError)
		return EXIT_USAGE;
	return EXIT_FAILURE;
}
