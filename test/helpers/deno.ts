/**
 * Runs `src/main.ts` under Deno 2 (the `deno` devDependency), offline, through
 * `test/fixtures/deno-sherpany` (`deno run -A --node-modules-dir=manual
 * --cached-only --no-lock src/main.ts`), so `startServe` can spawn it too.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";
import { type CliResult, runCommand } from "./cli.ts";

const DENO_BIN = fileURLToPath(
	new URL("../../node_modules/.bin/deno", import.meta.url),
);

/** A `bin/sherpany`-like script that runs the CLI under Deno. */
export const DENO_SHERPANY = fileURLToPath(
	new URL("../fixtures/deno-sherpany", import.meta.url),
);

/**
 * The minimal environment for a Deno run: PATH, a throwaway HOME and
 * DENO_DIR (Deno writes its caches there), no colours, no update check, and
 * an unreachable npm registry so that any download would fail the test.
 * The directory is removed when `t` ends.
 */
export async function denoEnv(
	t: Pick<Test, "teardown">,
): Promise<Record<string, string>> {
	const home = await mkdtemp(join(tmpdir(), "sherpany-deno-"));
	t.teardown(() => rm(home, { recursive: true, force: true }));
	return {
		PATH: process.env.PATH ?? "/usr/bin:/bin",
		HOME: home,
		DENO_DIR: join(home, "deno"),
		DENO_NO_UPDATE_CHECK: "1",
		NO_COLOR: "1",
		NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
	};
}

/** Runs `deno <args>` itself (e.g. `--version`). */
export function runDenoBinary(
	args: readonly string[],
	env: Record<string, string>,
): Promise<CliResult> {
	return runCommand(DENO_BIN, args, env);
}

/** Runs the CLI under Deno with `args` and exactly `env`. */
export function runDenoCli(
	args: readonly string[],
	env: Record<string, string>,
): Promise<CliResult> {
	return runCommand(DENO_SHERPANY, args, env);
}
