/** What `sherpany seed` inserts: the sample users, `--count N` synthetic ones, or a `--file`. */
import { extname } from "node:path";
import { ConfigError } from "../exit-codes.ts";
import { type FlagsOf, pick, type Settings } from "./setting.ts";
import { type Env, parseInteger } from "./values.ts";

/** Upper bound on `--count`, to catch typos before they fill a disk. */
const MAX_SEED_COUNT = 100_000_000;

/** The formats a users file can be in, told by its extension. */
export type UserFileFormat = "csv" | "ndjson";

/** What one run of `seed` inserts. */
export type SeedInput =
	| { readonly kind: "sample" }
	| { readonly kind: "count"; readonly count: number }
	| {
			readonly kind: "file";
			readonly path: string;
			readonly format: UserFileFormat;
			/** The flag or variable that named the file, for error messages; `--file` if not given. */
			readonly origin?: string;
	  };

/** The settings of `seed`, by the key commander gives each flag's value. */
export const SEED_SETTINGS = {
	count: {
		placeholder: "<n>",
		env: ["SEED_COUNT"],
		description: "add N synthetic users",
		parse: (raw) => parseInteger(raw, 1, MAX_SEED_COUNT),
	},
	file: {
		placeholder: "<path>",
		env: ["SEED_FILE"],
		description: "import a .csv (name,email header) or .ndjson file",
	},
} as const satisfies Settings;

/** The seed flags as commander hands them over; absent flags are undefined. */
export type SeedFlags = FlagsOf<typeof SEED_SETTINGS>;

/** Resolves what to seed from `--count`/`SEED_COUNT` and `--file`/`SEED_FILE`. Pure. */
export function loadSeedInput(env: Env, flags: SeedFlags = {}): SeedInput {
	const count = pick(SEED_SETTINGS, "count", flags, env);
	const file = pick(SEED_SETTINGS, "file", flags, env);
	if (count && file)
		throw new ConfigError(
			`${count.origin} and ${file.origin} cannot be combined: seed one at a time`,
		);
	if (count) return { kind: "count", count: SEED_SETTINGS.count.parse(count) };
	if (file)
		return {
			kind: "file",
			path: file.value,
			format: detectFormat(file.value, file.origin),
			origin: file.origin,
		};
	return { kind: "sample" };
}

/**
 * The format, from the file's extension. `origin` is the flag or variable
 * that named the file (`--file`, `SEED_FILE`), for error messages.
 */
export function detectFormat(path: string, origin: string): UserFileFormat {
	const extension = extname(path).toLowerCase();
	if (extension === ".csv") return "csv";
	if (extension === ".ndjson" || extension === ".jsonl") return "ndjson";
	throw new ConfigError(
		`${origin}: ${path} must end in .csv, .ndjson or .jsonl`,
	);
}
