/**
 * Where the built single executable is, and whether it is older than what it
 * is built from. `npm test` builds it first (the `pretest` script, through
 * test/pretest.ts); the binary suites only check that it is fresh, so a run
 * never rebuilds silently halfway.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `dist/sherpany`, the x86-64 executable, as `npm run build` writes it. */
export const DIST_BINARY = join(ROOT, "dist", "sherpany");

/** `dist/sherpany-linux-arm64`, which `npm run build` writes beside it. */
export const DIST_ARM64_BINARY = join(ROOT, "dist", "sherpany-linux-arm64");

/** What `npm run build` reads: a change to any of them makes the binary stale. */
const BUILD_INPUTS: readonly string[] = [
	"src",
	"migrations",
	"build.mjs",
	"package.json",
	"package-lock.json",
];

/**
 * Why the executables must be (re)built, or `undefined` when each is newer
 * than every build input.
 */
export async function findStaleReason(): Promise<string | undefined> {
	for (const binary of [DIST_BINARY, DIST_ARM64_BINARY]) {
		const reason = await findStaleBinary(binary);
		if (reason !== undefined) return reason;
	}
	return undefined;
}

async function findStaleBinary(binary: string): Promise<string | undefined> {
	const built = await stat(binary).then(
		(info) => info.mtimeMs,
		() => undefined,
	);
	if (built === undefined) return `${binary} does not exist`;
	for (const input of BUILD_INPUTS) {
		const newer = await findNewerFile(join(ROOT, input), built);
		if (newer) return `${newer.slice(ROOT.length)} is newer than ${binary}`;
	}
	return undefined;
}

/** The first file under `path` (or `path` itself) modified after `than`. */
async function findNewerFile(
	path: string,
	than: number,
): Promise<string | undefined> {
	const info = await stat(path).catch(() => undefined);
	if (!info) return undefined;
	if (!info.isDirectory()) return info.mtimeMs > than ? path : undefined;
	for (const entry of await readdir(path)) {
		const newer = await findNewerFile(join(path, entry), than);
		if (newer) return newer;
	}
	return undefined;
}
