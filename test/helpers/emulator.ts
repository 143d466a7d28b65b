/**
 * arm64 on this x86-64 machine, under Debian's qemu-user-static:
 * {@link arm64TargetOrSkip} gives the binary suites a target that runs
 * dist/sherpany-linux-arm64 through qemu-aarch64-static, with an arm64 root
 * for its dynamic loader and libraries (made once per machine with
 * mmdebstrap from Debian's arm64 packages, as the image's base is);
 * {@link arm64ImagesOrSkip} checks that the kernel hands arm64 programs to
 * qemu (binfmt_misc), which podman needs to run the arm64 image.
 *
 * When the emulator is missing, they skip the calling test file with a
 * message naming `.ci/install-qemu.sh`, unless `CI` is set: there a missing
 * emulator fails the run.
 *
 * Emulated timings are not real ones: nothing here measures.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Test } from "tap";
import { type BinaryTarget, requireFreshBinary } from "./binary.ts";
import { DIST_ARM64_BINARY } from "./dist.ts";
import { hasCommand } from "./podman.ts";

const QEMU = "/usr/bin/qemu-aarch64-static";
const BINFMT_ENTRY = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
/** What the arm64 node links (ldd), as the image's base has them. */
const ROOT_PACKAGES = ["libc6", "libstdc++6", "libgcc-s1"];
const SUITE = "bookworm";
/**
 * Under qemu's TCG a start-up of the executable takes about ten times as
 * long as natively, and PGlite's WebAssembly more (docs/executable.md, "Architectures").
 */
const SLOWDOWN = 15;
/**
 * check-health's 800 ms and /ready's 1 s limits are for real hardware: under
 * qemu, on a busy machine, a first request may take longer.
 */
export const EMULATED_TIME_LIMITS: Readonly<Record<string, string>> = {
	CHECK_HEALTH_TIMEOUT_MS: "20000",
	READY_TIMEOUT_MS: "20000",
};

const run = promisify(execFile);

/**
 * The target that runs dist/sherpany-linux-arm64 under qemu, or undefined
 * (the test file skipped) when qemu or mmdebstrap is missing outside CI.
 */
export async function arm64TargetOrSkip(
	t: Test,
): Promise<BinaryTarget | undefined> {
	const missing = [];
	if (!(await hasCommand(QEMU))) missing.push("qemu-user-static");
	if (!(await hasCommand("mmdebstrap"))) missing.push("mmdebstrap");
	if (missing.length > 0 && !skipOrFail(t, missing.join(" and ")))
		return undefined;
	await requireFreshBinary();
	const root = await arm64Root();
	return {
		arch: "arm64",
		dist: DIST_ARM64_BINARY,
		launcher: [QEMU, "-L", root],
		slowdown: SLOWDOWN,
		env: EMULATED_TIME_LIMITS,
	};
}

/**
 * True when podman can run arm64 images here (binfmt_misc hands arm64
 * programs to qemu); otherwise skips the test file, or fails it under CI.
 */
export async function arm64ImagesOrSkip(t: Test): Promise<boolean> {
	const entry = await readFile(BINFMT_ENTRY, "utf8").catch(() => "");
	if (entry.startsWith("enabled\n")) return true;
	return skipOrFail(t, "qemu-aarch64's binfmt_misc entry");
}

function skipOrFail(t: Test, what: string): false {
	const message = `${what} is missing: run \`sudo bash .ci/install-qemu.sh\` to test the arm64 executable and image`;
	if (process.env.CI) throw new Error(`${message} (CI is set, so this fails)`);
	t.plan(0, message);
	return false;
}

/**
 * An arm64 root holding the loader and the libraries the arm64 node links,
 * made once per machine (and per recipe) under the temp dir: a few seconds
 * of mmdebstrap, which unpacks the packages and runs nothing of them.
 */
async function arm64Root(): Promise<string> {
	const recipe = [SUITE, ...ROOT_PACKAGES].join(" ");
	const digest = createHash("sha256").update(recipe).digest("hex").slice(0, 8);
	const root = join(tmpdir(), `sherpany-arm64-root-${digest}`);
	const loader = join(root, "lib", "ld-linux-aarch64.so.1");
	if (await exists(loader)) return root;
	const work = await mkdtemp(join(tmpdir(), "sherpany-arm64-root-new-"));
	try {
		await run(
			"mmdebstrap",
			[
				"--quiet",
				"--variant=extract",
				"--architectures=arm64",
				`--include=${ROOT_PACKAGES.join(",")}`,
				SUITE,
				join(work, "root"),
			],
			{ timeout: 300_000 },
		);
		// Another test file may have made it meanwhile: keep the first.
		await rename(join(work, "root"), root).catch(() => undefined);
	} finally {
		await rm(work, { recursive: true, force: true });
	}
	if (!(await exists(loader))) throw new Error(`mmdebstrap made no ${loader}`);
	return root;
}

function exists(path: string): Promise<boolean> {
	return access(path).then(
		() => true,
		() => false,
	);
}
