// What the bench runs: the built binary, the pinned Node that it embeds (for
// the baselines), and timed one-shot commands.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BINARY = join(ROOT, "dist", "sherpany");
export const NODE = join(ROOT, "node_modules", "node", "bin", "node");
const GNU_TIME = "/usr/bin/time";

/** Builds dist/sherpany when it is missing. */
export function ensureBuilt() {
	if (existsSync(BINARY)) return;
	console.error("bench: dist/sherpany is missing: running npm run build");
	const built = spawnSync("npm", ["run", "build"], {
		cwd: ROOT,
		stdio: "inherit",
	});
	if (built.status !== 0) throw new Error("npm run build failed");
}

/** Runs a command to completion; returns its wall-clock milliseconds. Throws if it fails. */
export function timed(file, args, env, input) {
	const started = process.hrtime.bigint();
	const result = spawnSync(file, args, {
		env,
		input,
		encoding: "utf8",
		maxBuffer: 64 * 1024 * 1024,
	});
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	if (result.status !== 0)
		throw new Error(
			`${file} ${args.join(" ")} exited ${result.status}: ${result.stderr}`,
		);
	return { ms, stdout: result.stdout };
}

/** Peak RSS in MiB of one run of a command, from GNU time's %M; NaN without GNU time. */
export function peakRssOfRun(file, args, env) {
	if (!existsSync(GNU_TIME)) return Number.NaN;
	const result = spawnSync(GNU_TIME, ["-f", "%M", file, ...args], {
		env,
		encoding: "utf8",
	});
	return Number(result.stderr.trim().split("\n").at(-1)) / 1024;
}
