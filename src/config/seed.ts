/** What `sherpany seed` inserts: the sample users, `--count N` synthetic ones, or a `--file`. */
import type { SeedSource } from "../commands/seed.ts";
import { UsageError } from "../errors.ts";
import { detectFormat } from "../seed/read-users.ts";
import { type Env, parseInteger, pick } from "./sources.ts";

/** Upper bound on `--count`, to catch typos before they fill a disk. */
export const MAX_SEED_COUNT = 100_000_000;

export interface SeedFlags {
	readonly count?: string;
	readonly file?: string;
}

export function loadSeedSource(env: Env, flags: SeedFlags = {}): SeedSource {
	const count = pick(flags, "--count", env, "SEED_COUNT");
	const file = pick(flags, "--file", env, "SEED_FILE");
	if (count && file)
		throw new UsageError(
			`${count.source} and ${file.source} cannot be combined: seed one at a time`,
		);
	if (count)
		return { kind: "count", count: parseInteger(count, 1, MAX_SEED_COUNT) };
	if (file)
		return {
			kind: "file",
			path: file.value,
			format: detectFormat(file.value, file.source),
			source: file.source,
		};
	return { kind: "sample" };
}
