/**
 * podman in tests: run the image under the restrictions it must work with
 * (a non-root numeric user, a read-only root filesystem, every capability
 * dropped, no privilege escalation), with secrets mounted as files.
 * Containers share the host network, so they reach the test PostgreSQL on
 * 127.0.0.1 and the test reaches their ports there.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** podman with the project's settings (runc, cgroupfs, no default ulimits). */
export const PODMAN = join(ROOT, "deploy", "image", "podman.sh");

/** The flags every test container runs with: how a restricted Kubernetes pod runs it. */
const RESTRICTED_RUN_FLAGS: readonly string[] = [
	"--read-only",
	"--user",
	"65532:65532",
	"--cap-drop=ALL",
	"--security-opt",
	"no-new-privileges",
	"--network",
	"host",
	// Keeps the image's HEALTHCHECK but schedules no systemd timer (there is
	// no systemd here); tests run it on demand with `podman healthcheck run`.
	"--health-interval",
	"disable",
];

/** What a finished podman (or container) command returned. */
export interface CommandResult {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

/** Runs `deploy/image/podman.sh` with `args`; never rejects on a non-zero exit. */
export function podman(
	args: readonly string[],
	timeoutMs = 120_000,
): Promise<CommandResult> {
	return runProcess(PODMAN, args, timeoutMs);
}

/** Like {@link podman}, but rejects with podman's output unless it exits 0. */
export async function podmanOk(
	args: readonly string[],
	timeoutMs?: number,
): Promise<string> {
	const result = await podman(args, timeoutMs);
	if (result.code !== 0)
		throw new Error(
			`podman ${args.join(" ")} exited ${result.code}:\n${result.stderr}${result.stdout}`,
		);
	return result.stdout;
}

/** Runs `file` with `args`, collecting its exit code and output; never rejects. */
export function runProcess(
	file: string,
	args: readonly string[],
	timeoutMs: number,
	env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
	return new Promise((resolve) => {
		execFile(
			file,
			[...args],
			{ env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
			(error, stdout, stderr) => {
				const code =
					error === null ? 0 : typeof error.code === "number" ? error.code : 1;
				resolve({ code, stdout, stderr });
			},
		);
	});
}

/** True when `name` is on PATH. */
export async function hasCommand(name: string): Promise<boolean> {
	const result = await runProcess("sh", ["-c", `command -v ${name}`], 10_000);
	return result.code === 0;
}

/** Options of {@link runContainer} and {@link startContainer}. */
export interface ContainerOptions {
	/** Environment variables (`--env`). */
	readonly env?: Readonly<Record<string, string>>;
	/** Extra podman run flags (mounts, `--entrypoint`...), before the image. */
	readonly flags?: readonly string[];
}

function runArgs(
	image: string,
	args: readonly string[],
	options: ContainerOptions,
): string[] {
	return [
		...RESTRICTED_RUN_FLAGS,
		...Object.entries(options.env ?? {}).flatMap(([k, v]) => [
			"--env",
			`${k}=${v}`,
		]),
		...(options.flags ?? []),
		image,
		...args,
	];
}

/** Runs the image to completion (`podman run --rm`) with `args` after the entrypoint. */
export function runContainer(
	image: string,
	args: readonly string[],
	options: ContainerOptions = {},
): Promise<CommandResult> {
	return podman(["run", "--rm", ...runArgs(image, args, options)]);
}

/**
 * Starts the image detached under a unique name and removes the container
 * (and its anonymous volumes) when the test ends. Returns the name.
 */
export async function startContainer(
	t: Pick<Test, "teardown">,
	image: string,
	args: readonly string[],
	options: ContainerOptions = {},
): Promise<string> {
	const name = `sherpany-test-${process.pid}-${randomBytes(4).toString("hex")}`;
	t.teardown(async () => {
		await podman(["rm", "--force", "--volumes", "--time", "2", name]);
	});
	await podmanOk([
		"run",
		"--detach",
		"--name",
		name,
		...runArgs(image, args, options),
	]);
	return name;
}

/**
 * Writes a secret into a fresh temp dir, readable by the container user
 * (the dir is 0755 and the file 0444, as a Kubernetes secret volume mounts
 * it), and returns the `--mount` flag that puts it at `target`.
 */
export async function secretMount(
	t: Pick<Test, "teardown">,
	target: string,
	content: string,
): Promise<string[]> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-secret-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	await chmod(dir, 0o755);
	const file = join(dir, "secret");
	await writeFile(file, content, { mode: 0o444 });
	return ["--mount", `type=bind,source=${file},target=${target},readonly`];
}

/** Polls `url` until it answers (any status) or `timeoutMs` passes. */
export async function waitForHttp(
	url: string,
	timeoutMs = 60_000,
): Promise<Response> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < deadline) {
		try {
			return await fetch(url, { signal: AbortSignal.timeout(2_000) });
		} catch (error) {
			lastError = error;
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
	throw new Error(`${url} did not answer within ${timeoutMs} ms`, {
		cause: lastError,
	});
}
