/**
 * A warning for a password given on the command line: every local user can
 * read a process's arguments (`ps`, /proc/<pid>/cmdline) for as long as it
 * runs. The `*_FILE` variables keep a secret out of them.
 */
import { flagOf } from "../config/setting.ts";

/** The URL flags that may carry a password, and the variable that reads one from a file. */
const URL_FLAGS = {
	databaseUrl: "DATABASE_URL_FILE",
	databaseReadUrl: "DATABASE_READ_URL_FILE",
} as const;

/** One warning line per URL flag whose value holds a password; none for the others. */
export function warnOfPasswordFlags(
	flags: Readonly<Record<string, unknown>>,
): string[] {
	const warnings: string[] = [];
	for (const [key, fileVariable] of Object.entries(URL_FLAGS)) {
		const value = flags[key];
		if (typeof value === "string" && hasPassword(value))
			warnings.push(
				`warning: ${flagOf(key)} holds a password, which other users of this machine can read in the process list (ps): put the URL in a file named by ${fileVariable}, or the password in one named by PGPASSWORD_FILE`,
			);
	}
	return warnings;
}

function hasPassword(url: string): boolean {
	try {
		return new URL(url).password !== "";
	} catch {
		// The loader reports an unparsable URL.
		return false;
	}
}
