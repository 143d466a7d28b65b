/**
 * The liveness probe's command line, read without commander. `check-health`
 * runs in every pod every probe period, and building the commander program
 * is about a quarter of what it adds to Node's start-up (bench/). Only the
 * plain forms a probe is written with are read here; anything else (`--help`,
 * `--port=8080`, a repeated or unknown flag, a value that looks like a flag)
 * returns undefined and goes through commander, which then decides exactly
 * as it always did.
 */
import type { CheckHealthFlags } from "../config/check-health.ts";

/** The flags that take a value, by the key commander would give them. */
const VALUE_FLAGS: Readonly<Record<string, "url" | "port" | "timeoutMs">> = {
	"--url": "url",
	"--port": "port",
	"--timeout-ms": "timeoutMs",
};

/** Reads `check-health [--ready] [--url U] [--port N] [--timeout-ms N]`, or returns undefined. */
export function readProbeArgs(
	argv: readonly string[],
): CheckHealthFlags | undefined {
	if (argv[0] !== "check-health") return undefined;
	const flags: {
		ready?: boolean;
		url?: string;
		port?: string;
		timeoutMs?: string;
	} = {};
	for (let i = 1; i < argv.length; i++) {
		const arg = argv[i] ?? "";
		if (arg === "--ready" && flags.ready === undefined) {
			flags.ready = true;
			continue;
		}
		const key = Object.hasOwn(VALUE_FLAGS, arg) ? VALUE_FLAGS[arg] : undefined;
		const value = argv[i + 1];
		if (
			key === undefined ||
			flags[key] !== undefined ||
			value === undefined ||
			value.startsWith("-")
		)
			return undefined;
		flags[key] = value;
		i++;
	}
	return flags;
}
