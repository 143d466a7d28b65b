/** Starts `bin/sherpany serve` as a child process on a free port and waits until it listens. */
import { type ChildProcess, spawn } from "node:child_process";
import type { Test } from "tap";
import { coverageEnv, SHERPANY_BIN } from "./cli.ts";
import { freePort } from "./free-port.ts";

// Suites that start `serve` pick its ports here too.
export { freePort };

export interface ServeProcess extends ServeOutput {
	readonly child: ChildProcess;
	readonly port: number;
	readonly baseUrl: string;
}

export async function startServe(
	t: Pick<Test, "teardown">,
	env: Record<string, string>,
	args: string[] = [],
	command: string = SHERPANY_BIN,
): Promise<ServeProcess> {
	const port = await freePort();
	const child = spawn(command, ["serve", ...args], {
		env: {
			...coverageEnv(),
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			PORT: String(port),
			HOST: "127.0.0.1",
			...env,
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	const { lines, stderr, exited } = await watchUntilListening(t, child);
	return {
		child,
		port,
		baseUrl: `http://127.0.0.1:${port}`,
		lines,
		stderr,
		exited,
	};
}

/** What a spawned `serve` printed, and its exit. */
export interface ServeOutput {
	/** Every line printed on stdout so far. */
	readonly lines: string[];
	readonly stderr: () => string;
	/** Resolves with the exit code (or the signal's name). */
	readonly exited: Promise<number | string>;
}

/**
 * Collects a spawned `serve`'s output and resolves once it logs "listening"
 * (rejects if it exits first). The child is killed at teardown if still running.
 */
export async function watchUntilListening(
	t: Pick<Test, "teardown">,
	child: ChildProcess,
): Promise<ServeOutput> {
	const lines: string[] = [];
	let stderr = "";
	let buffered = "";
	child.stderr?.on("data", (chunk) => {
		stderr += chunk;
	});
	const exited = new Promise<number | string>((resolve) =>
		child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
	);
	t.teardown(() => {
		if (child.exitCode === null && child.signalCode === null)
			child.kill("SIGKILL");
		return exited;
	});
	await new Promise<void>((resolve, reject) => {
		child.stdout?.on("data", (chunk) => {
			buffered += chunk;
			const parts = buffered.split("\n");
			buffered = parts.pop() ?? "";
			lines.push(...parts);
			if (parts.some((line) => line.includes('"msg":"listening"'))) resolve();
		});
		exited.then((code) =>
			reject(
				new Error(`serve exited with ${code} before listening: ${stderr}`),
			),
		);
	});
	return { lines, stderr: () => stderr, exited };
}
