/** Runs `bin/sherpany` as a user would, and collects what it printed. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";

export const SHERPANY_BIN = fileURLToPath(
	new URL("../../bin/sherpany", import.meta.url),
);

export interface CliResult {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

/** Runs the CLI with `args` and an environment holding only PATH plus `env`. */
export function runCli(
	args: readonly string[],
	env: Record<string, string> = {},
	cwd?: string,
): Promise<CliResult> {
	return runCommand(
		SHERPANY_BIN,
		args,
		{ ...coverageEnv(), PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
		cwd,
	);
}

/**
 * `sherpany migrate` then `sherpany seed` (the three sample users) on `url`,
 * as an operator runs them; each must exit 0.
 */
export async function migrateAndSeed(
	t: Pick<Test, "equal">,
	url: string,
): Promise<void> {
	for (const args of [["migrate"], ["seed"]]) {
		const result = await runCli(args, { DATABASE_URL: url });
		t.equal(result.code, 0, `sherpany ${args[0]} exits 0`, {
			stderr: result.stderr,
		});
	}
}

/** Runs `file` with `args` and exactly `env` (in `cwd`), and collects its exit code and output. */
export function runCommand(
	file: string,
	args: readonly string[],
	env: Record<string, string>,
	cwd?: string,
): Promise<CliResult> {
	return new Promise((resolve) => {
		execFile(
			file,
			[...args],
			{ env, cwd, timeout: 60_000 },
			(error, stdout, stderr) => {
				const code = error
					? typeof error.code === "number"
						? error.code
						: 1
					: 0;
				resolve({ code, stdout, stderr });
			},
		);
	});
}

/** True when the text holds a JavaScript stack frame. */
export function hasStackTrace(text: string): boolean {
	return /^\s+at /m.test(text);
}

/**
 * The variables through which tap collects coverage from child processes
 * (its processinfo loader), so code run by the CLI counts too.
 */
export function coverageEnv(): Record<string, string> {
	return Object.fromEntries(
		Object.entries(process.env).filter(
			(entry): entry is [string, string] =>
				/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_PROCESSINFO_)/.test(entry[0]) &&
				entry[1] !== undefined,
		),
	);
}
