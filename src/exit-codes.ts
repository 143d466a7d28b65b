/**
 * The process exit codes and the few typed errors the CLI maps to them.
 * Anything else is a bug or an unexpected runtime failure and exits 1.
 *
 * Each error carries its exit code under a `Symbol.for` key, and the CLI
 * reads that brand rather than testing `instanceof`: the binary runs the
 * command modules from a second bundle with its own copies of these classes
 * (build.mjs), and a registered symbol is the same in every copy, the way
 * pino brands its objects.
 */

/** Exit codes shared by every subcommand. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The key of the exit code an error carries; one symbol across bundles and realms. */
const EXIT_CODE = Symbol.for("sherpany.exitCode");

/** Bad configuration: a flag or an environment variable that cannot be used. Exit 2. */
export class ConfigError extends Error {
	override name = "ConfigError";
	readonly [EXIT_CODE] = EXIT_USAGE;
}

/**
 * A file the command was given is not in a form it takes (a users CSV whose
 * header lacks name or email): the user must fix the file. Exit 2, as for
 * bad configuration.
 */
export class InputFileError extends Error {
	override name = "InputFileError";
	readonly [EXIT_CODE] = EXIT_USAGE;
}

/** The command ran and failed for a reason the user can act on. Exit 1, no stack trace. */
export class CommandError extends Error {
	override name = "CommandError";
	readonly [EXIT_CODE] = EXIT_FAILURE;
}

/** An error that says what to do, with its exit code: its message is printed as it is. */
export type ExitCodeError = Error & { readonly [EXIT_CODE]: number };

/** True for a ConfigError, InputFileError or CommandError, from whichever bundle it came. */
export function hasExitCode(error: unknown): error is ExitCodeError {
	// No instanceof Error either: the brand is the whole test.
	return (
		typeof error === "object" &&
		error !== null &&
		typeof (error as Partial<ExitCodeError>)[EXIT_CODE] === "number"
	);
}

/** Maps an error to the process exit code. */
export function exitCodeFor(error: unknown): number {
	return hasExitCode(error) ? error[EXIT_CODE] : EXIT_FAILURE;
}

/** The line the CLI prints for an error: its own message if it carries an exit code, else marked unexpected. */
export function describeError(error: unknown): string {
	if (hasExitCode(error)) return error.message;
	return `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}
