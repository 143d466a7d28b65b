/**
 * The built single executable, run as a user would: `sandbox(t)` copies only
 * `dist/sherpany` into a fresh temp dir outside the repo, and runs it from
 * there with `PATH=/usr/bin:/bin` and nothing else in its environment, so no
 * node_modules, migrations/ folder or Node install can help it.
 *
 * The binary is not rebuilt here: `npm test` builds it first (`pretest`),
 * and {@link requireFreshBinary} fails a suite that would test a stale one.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, copyFile, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Test } from "tap";
import { DIST_BINARY, findStaleReason } from "./dist.ts";
import { freePort, watchUntilListening } from "./serve.ts";

/**
 * Which built executable a binary suite runs, and how: the same suites run
 * dist/sherpany natively and dist/sherpany-linux-arm64 under qemu
 * (test/helpers/emulator.ts).
 */
export interface BinaryTarget {
	/** Node's name for the architecture, as in `process.arch`. */
	readonly arch: string;
	/** The executable `npm run build` wrote. */
	readonly dist: string;
	/** What runs it: nothing natively, the emulator and its flags otherwise. */
	readonly launcher: readonly string[];
	/** How many times a native step's time limit a step may take. */
	readonly slowdown: number;
	/** Environment every run gets (the probe's and /ready's time limits). */
	readonly env: Readonly<Record<string, string>>;
}

/** dist/sherpany on this (x86-64) machine. */
export const NATIVE_TARGET: BinaryTarget = {
	arch: "x64",
	dist: DIST_BINARY,
	launcher: [],
	slowdown: 1,
	env: {},
};

/** All the binary gets: no HOME, no NODE_OPTIONS, no PG* variables. */
const MINIMAL_PATH = "/usr/bin:/bin";
const ENV = "/usr/bin/env";

/**
 * Throws, saying how to fix it, when `dist/sherpany` is missing or older
 * than its sources. Call it at the top of a binary suite.
 */
export async function requireFreshBinary(): Promise<void> {
	const reason = await findStaleReason();
	if (reason !== undefined)
		throw new Error(
			`${reason}: run \`npm run build\` (\`npm test\` runs it first, as its pretest step)`,
		);
}

/** What one run of the binary printed, and how it ended. */
export interface RunResult {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	readonly stdout: string;
	readonly stderr: string;
}

/** A temp dir outside the repo holding nothing but a copy of the binary. */
export interface Sandbox {
	readonly dir: string;
	readonly binary: string;
	run(
		args: readonly string[],
		env?: Record<string, string>,
	): Promise<RunResult>;
	serve(t: Test, env?: Record<string, string>): Promise<BinaryServe>;
}

/** A `serve` started from the sandbox. */
export interface BinaryServe {
	readonly child: ChildProcess;
	readonly pid: number;
	readonly port: number;
	readonly baseUrl: string;
	readonly lines: string[];
	readonly stderr: () => string;
	readonly exited: Promise<number | string>;
	/** The parsed JSON log lines so far. */
	logs(): Record<string, unknown>[];
}

/** Makes a sandbox for one test; it is removed at teardown. */
export async function sandbox(
	t: Test,
	target: BinaryTarget = NATIVE_TARGET,
): Promise<Sandbox> {
	// realpath: the binary reports the data directory by the real path of its cwd.
	const dir = await realpath(
		await mkdtemp(join(tmpdir(), "sherpany-binary-test-")),
	);
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	const binary = join(dir, "sherpany");
	await copyFile(target.dist, binary);
	// copyFile keeps the mode bits, so the copy is executable.
	// tap adds NODE_OPTIONS (its coverage loader, from node_modules) to the
	// environment of every child it spawns, and the binary honours
	// NODE_OPTIONS like any Node: `env -i` starts it with exactly `env`.
	const argvFor = (
		env: Record<string, string>,
		args: readonly string[],
	): string[] => [
		"-i",
		...Object.entries({ PATH: MINIMAL_PATH, ...target.env, ...env }).map(
			([key, value]) => `${key}=${value}`,
		),
		...target.launcher,
		binary,
		...args,
	];
	return {
		dir,
		binary,
		run: (args, env = {}) =>
			new Promise((resolve) => {
				execFile(
					ENV,
					argvFor(env, args),
					{ cwd: dir, timeout: 60_000 * target.slowdown },
					(error, stdout, stderr) => {
						const failure = error as
							| (Error & { code?: unknown; signal?: NodeJS.Signals | null })
							| null;
						resolve({
							code: failure
								? typeof failure.code === "number"
									? failure.code
									: null
								: 0,
							signal: failure?.signal ?? null,
							stdout,
							stderr,
						});
					},
				);
			}),
		async serve(t, env = {}) {
			const port = await freePort();
			// env execs the binary (or qemu, which runs it in its own
			// process) in place: the child's pid is the server's.
			const child = spawn(
				ENV,
				argvFor(
					{
						PORT: String(port),
						HOST: "127.0.0.1",
						SHUTDOWN_DELAY_MS: "0",
						...env,
					},
					["serve"],
				),
				{
					cwd: dir,
					stdio: ["ignore", "pipe", "pipe"],
				},
			);
			const { lines, stderr, exited } = await watchUntilListening(t, child);
			return {
				child,
				pid: child.pid as number,
				port,
				baseUrl: `http://127.0.0.1:${port}`,
				lines,
				stderr,
				exited,
				logs: () =>
					lines.map((line) => JSON.parse(line) as Record<string, unknown>),
			};
		},
	};
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
	return access(path).then(
		() => true,
		() => false,
	);
}
