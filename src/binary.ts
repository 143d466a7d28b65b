/**
 * The executable's entry point (build.mjs). The liveness probe's plain
 * `check-health` line, run in every pod every probe period, is answered by
 * the few modules imported here. Any other command line loads the CLI,
 * src/main.ts, which the executable keeps as a second script: compiling and
 * running it, commander and every command's settings, cost each probe about
 * a tenth of Node's own start-up (bench/RESULTS.md).
 */
import { processIo } from "./cli/io.ts";
import { readProbeArgs } from "./cli/probe-args.ts";

const argv = process.argv.slice(2);
const probe = readProbeArgs(argv);
// Each path imports only what it runs: the probe's modules (node:net with
// them) are no part of --version, and the CLI is no part of the probe.
const exitCode = probe
	? import("./probe.ts").then(({ runProbe }) =>
			runProbe(probe, process.env, processIo),
		)
	: import("./main.ts").then(({ main }) => main(argv, process.env));
void exitCode.then((code) => process.exit(code));
