/**
 * The container images in tests: build them with the shipped script
 * (`npm run image`, i.e. deploy/image/build.sh) from `dist/sherpany` and
 * `dist/sherpany-linux-arm64`, once per test process, and read what podman
 * says about them. Running them is in podman.ts.
 *
 * When podman is missing, {@link imageOrSkip} skips the calling test file
 * with a message naming `.ci/install-podman.sh`, unless `CI` is set: there
 * a missing podman fails the run.
 *
 * @module
 */
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";
import { hasCommand, podman, podmanOk, runProcess } from "./podman.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD_SCRIPT = join(ROOT, "deploy", "image", "build.sh");
const DIST_BINARIES = ["sherpany", "sherpany-linux-arm64"].map((name) =>
	join(ROOT, "dist", name),
);

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
	/** The linux/arm64 image's ID. */
	readonly arm64Id: string;
	/** The ID of the manifest list that names both. */
	readonly listId: string;
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
	for (const binary of DIST_BINARIES)
		await access(binary).catch((error: unknown) => {
			throw new Error(
				`${binary} is missing: run \`npm run build\` before the image tests`,
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
		const result = await runProcess(
			"bash",
			[
				BUILD_SCRIPT,
				"--iidfile",
				iidfile,
				"--iidfile-arm64",
				`${iidfile}-arm64`,
				"--listidfile",
				`${iidfile}-list`,
			],
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
		const readId = async (file: string): Promise<string> =>
			(await readFile(file, "utf8")).trim().replace(/^sha256:/, "");
		const id = await readId(iidfile);
		const arm64Id = await readId(`${iidfile}-arm64`);
		const listId = await readId(`${iidfile}-list`);
		builtIds.push(listId, id, arm64Id);
		return { id, versioned, latest, arm64Id, listId };
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

/** The parts of `podman image inspect` the tests read. */
export interface ImageInspection {
	readonly Id: string;
	readonly Architecture: string;
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
