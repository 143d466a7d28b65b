/**
 * The liveness probe's command line, read without commander. `check-health`
 * runs in every pod every probe period, and building the commander program
 * is about a quarter of what it adds to Node's start-up (bench/). Only the
 * plain forms a probe is written with are read here; anything else (`--help`,
 * `--port=8080`, a repeated or unknown flag, a value that looks like a flag)
 * returns undefined and goes through commander, which reads it as it reads
 * every other command line. The flags are those CHECK_HEALTH_SETTINGS declares.
 */
import {
	CHECK_HEALTH_SETTINGS,
	type CheckHealthFlags,
} from "../config/check-health.ts";
import { flagOf } from "../config/setting.ts";

type Key = keyof typeof CHECK_HEALTH_SETTINGS;

/** Each flag, by itself, with its key and whether it takes a value. */
const FLAGS: ReadonlyMap<string, { key: Key; takesValue: boolean }> = new Map(
	Object.entries(CHECK_HEALTH_SETTINGS).map(([key, setting]) => [
		flagOf(key),
		{ key: key as Key, takesValue: "placeholder" in setting },
	]),
);

/** Reads `check-health [--ready] [--url U] [--port N] [--timeout-ms N]`, or returns undefined. */
export function readProbeArgs(
	argv: readonly string[],
): CheckHealthFlags | undefined {
	if (argv[0] !== "check-health") return undefined;
	const flags: Partial<Record<Key, string | boolean>> = {};
	for (let i = 1; i < argv.length; i++) {
		const arg = argv[i] ?? "";
		const flag = FLAGS.get(arg);
		if (flag === undefined || flags[flag.key] !== undefined) return undefined;
		if (!flag.takesValue) {
			flags[flag.key] = true;
			continue;
		}
		const value = argv[i + 1];
		if (value === undefined || value.startsWith("-")) return undefined;
		flags[flag.key] = value;
		i++;
	}
	return flags as CheckHealthFlags;
}
