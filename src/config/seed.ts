/** What `sherpany seed` inserts: the sample users, `--count N` synthetic ones, or a `--file`. */
import { extname } from "node:path";
import { UsageError } from "../exit-codes.ts";
import { type Env, parseInteger, pick } from "./sources.ts";

/** Upper bound on `--count`, to catch typos before they fill a disk. */
export const MAX_SEED_COUNT = 100_000_000;

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

export interface SeedFlags {
	readonly count?: string;
	readonly file?: string;
}

/** Resolves what to seed from `--count`/`SEED_COUNT` and `--file`/`SEED_FILE`. Pure. */
export function loadSeedInput(env: Env, flags: SeedFlags = {}): SeedInput {
	const count = pick(flags, "--count", env, "SEED_COUNT");
	const file = pick(flags, "--file", env, "SEED_FILE");
	if (count && file)
		throw new UsageError(
			`${count.origin} and ${file.origin} cannot be combined: seed one at a time`,
		);
	if (count)
		return { kind: "count", count: parseInteger(count, 1, MAX_SEED_COUNT) };
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
	throw new UsageError(
		`${origin}: ${path} must end in .csv, .ndjson or .jsonl`,
	);
}
