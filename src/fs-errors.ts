/**
 * Describes a file-system failure in a few words, for the one-line errors
 * that config, db, seed and commands print about files they cannot use.
 * A leaf: it imports nothing of the project.
 */

/** A short reason from a file-system error (its code, such as ENOENT), without a stack. */
export function describeFsError(error: unknown): string {
	if (
		error &&
		typeof error === "object" &&
		"code" in error &&
		typeof error.code === "string"
	) {
		return error.code;
	}
	return error instanceof Error ? error.message : String(error);
}
