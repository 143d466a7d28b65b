/**
 * `check-health` straight from the probe's plain command line (readProbeArgs):
 * the liveness probe's whole path, with no commander and no other command's
 * settings. Both the executable's entry point (src/binary.ts) and main.ts
 * take it, and main.ts's commander command runs the same runCheckHealth.
 */
import type { Io } from "./cli/io.ts";
import { run } from "./commands/check-health.ts";
import {
	type CheckHealthFlags,
	loadCheckHealthConfig,
} from "./config/check-health.ts";
import type { Env } from "./config/values.ts";
import { describeError, EXIT_OK, exitCodeFor } from "./exit-codes.ts";

/** `check-health` from its flags, as commander or readProbeArgs read them; throws as commands do. */
export async function runCheckHealth(
	flags: CheckHealthFlags,
	env: Env,
	print: (line: string) => void,
): Promise<void> {
	await run(loadCheckHealthConfig(env, flags), { print });
}

/** Probes the server; prints the verdict and returns the exit code (0 healthy, 1 not, 2 bad settings). */
export async function runProbe(
	flags: CheckHealthFlags,
	env: Env,
	io: Io,
): Promise<number> {
	try {
		await runCheckHealth(
			flags,
			env,
			(line) => void io.stdout.write(`${line}\n`),
		);
		return EXIT_OK;
	} catch (error) {
		io.stderr.write(`sherpany: ${describeError(error)}\n`);
		return exitCodeFor(error);
	}
}
