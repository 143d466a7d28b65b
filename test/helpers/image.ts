/**
 * The container image in tests: build it with the shipped script
 * (`npm run image`, i.e. image/build.sh) from `dist/sherpany`, and run it with
 * podman under the restrictions it must work with: a non-root numeric user,
 * a read-only root filesystem, every capability dropped and no privilege
 * escalation. Containers share the host network, so they reach the test
 * PostgreSQL on 127.0.0.1 and the test reaches their ports there.
 *
 * When podman is missing, {@link imageOrSkip} skips the calling test file
 * with a message naming `.ci/install-podman.sh`, unless `CI` is set: there
 * a missing podman fails the run.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
	access,
	chmod,
	mkdtemp,
	readFile,
	rm,
	writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** podman with the project's settings (runc, cgroupfs, no default ulimits). */
export const PODMAN = join(ROOT, "image", "podman.sh");
const BUILD_SCRIPT = join(ROOT, "image", "build.sh");
const DIST_BINARY = join(ROOT, "dist", "sherpany");

/** The flags every test container runs with: how a restricted Kubernetes pod runs it. */
export const RESTRICTED_RUN_FLAGS: readonly string[] = [
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

/** Runs `image/podman.sh` with `args`; never rejects on a non-zero exit. */
export function podman(
	args: readonly string[],
	timeoutMs = 120_000,
): Promise<CommandResult> {
	return run(PODMAN, args, timeoutMs);
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

function run(
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

async function hasCommand(name: string): Promise<boolean> {
	const result = await run("sh", ["-c", `command -v ${name}`], 10_000);
	return result.code === 0;
}

/** What `npm run image` built. */
export interface BuiltImage {
	/**
	 * The image ID. Tests run and inspect this, not a tag: on a shared
	 * machine another checkout's build may move the tags at any moment.
	 */
	readonly id: string;
	/** `localhost/sherpany:<version>`, as the script printed it. */
	readonly versioned: string;
	/** `localhost/sherpany:latest`. */
	readonly latest: string;
}

let built: Promise<BuiltImage> | undefined;
/** IDs this process built, removed at its end unless they still carry a tag. */
const builtIds: string[] = [];

/**
 * Builds the image with `npm run image` (once per test process) and returns
 * its references, or skips the whole test file when podman is missing
 * outside CI (returns undefined then).
 */
export async function imageOrSkip(t: Test): Promise<BuiltImage | undefined> {
	if (!(await hasCommand("podman"))) {
		const message =
			"podman is not installed: run `sudo bash .ci/install-podman.sh` to test the container image";
		if (process.env.CI)
			throw new Error(`${message} (CI is set, so this fails)`);
		t.plan(0, message);
		return undefined;
	}
	if (!built) {
		built = buildImage();
		t.teardown(removeSupersededImages);
	}
	return built;
}

/**
 * Every build leaves a full copy of the binary's layer, and a later build
 * takes the tags: remove this process's images that no tag names any more.
 * An image still tagged (the newest build) stays for `podman run`.
 */
async function removeSupersededImages(): Promise<void> {
	for (const id of builtIds) {
		const tags = await podman([
			"image",
			"inspect",
			id,
			"--format",
			"{{len .RepoTags}}",
		]);
		if (tags.code === 0 && tags.stdout.trim() === "0")
			await podman(["rmi", id]);
	}
}

/** Runs `npm run image` again, whatever was built before (for reproducibility checks). */
export function rebuildImage(): Promise<BuiltImage> {
	return buildImage();
}

async function buildImage(): Promise<BuiltImage> {
	await access(DIST_BINARY).catch((error: unknown) => {
		throw new Error(
			"dist/sherpany is missing: run `npm run build` before the image tests",
			{ cause: error },
		);
	});
	// Without tap's coverage loader, as `npm run image` would run it.
	const env = Object.fromEntries(
		Object.entries(process.env).filter(
			([key]) =>
				!/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP_|TAP$)/.test(key),
		),
	);
	// The pinned Node (node_modules/.bin), as npm run puts it first on PATH.
	env.PATH = `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`;
	const dir = await mkdtemp(join(tmpdir(), "sherpany-image-build-"));
	try {
		const iidfile = join(dir, "iid");
		const result = await run(
			"bash",
			[BUILD_SCRIPT, "--iidfile", iidfile],
			600_000,
			env,
		);
		if (result.code !== 0)
			throw new Error(
				`npm run image failed (exit ${result.code}):\n${result.stderr}${result.stdout}`,
			);
		const [versioned, latest] = result.stdout.trim().split("\n");
		if (!versioned || !latest)
			throw new Error(
				`npm run image printed no image names:\n${result.stdout}`,
			);
		const id = (await readFile(iidfile, "utf8")).trim().replace(/^sha256:/, "");
		builtIds.push(id);
		return { id, versioned, latest };
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
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

/** The parts of `podman image inspect` the tests read. */
export interface ImageInspection {
	readonly Id: string;
	readonly Size: number;
	readonly Config: {
		readonly User?: string;
		readonly Env?: string[];
		readonly Entrypoint?: string[];
		readonly Cmd?: string[];
		readonly ExposedPorts?: Record<string, unknown>;
		readonly Volumes?: Record<string, unknown>;
		readonly WorkingDir?: string;
		readonly Labels?: Record<string, string>;
		readonly Healthcheck?: { readonly Test?: string[] };
	};
	readonly RootFS: { readonly Layers: string[] };
	/** Where podman puts the HEALTHCHECK (Docker puts it in Config). */
	readonly Healthcheck?: { readonly Test?: string[] };
}

/** `podman image inspect` of one image. */
export async function inspectImage(ref: string): Promise<ImageInspection> {
	const [inspection] = JSON.parse(
		await podmanOk(["image", "inspect", ref]),
	) as ImageInspection[];
	if (!inspection) throw new Error(`podman image inspect ${ref}: no image`);
	return inspection;
}

/** The image's HEALTHCHECK test, e.g. `["CMD", "/usr/local/bin/sherpany", "check-health"]`. */
export function healthcheckTest(image: ImageInspection): string[] {
	return image.Healthcheck?.Test ?? image.Config.Healthcheck?.Test ?? [];
}
