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

/** `dist/sherpany`, as `npm run build` writes it. */
export const DIST_BINARY = join(ROOT, "dist", "sherpany");

/** What `npm run build` reads: a change to any of them makes the binary stale. */
export const BUILD_INPUTS: readonly string[] = [
	"src",
	"migrations",
	"build.mjs",
	"package.json",
	"package-lock.json",
];

/**
 * Why `dist/sherpany` must be (re)built, or `undefined` when it is newer
 * than every build input.
 */
export async function findStaleReason(): Promise<string | undefined> {
	const built = await stat(DIST_BINARY).then(
		(info) => info.mtimeMs,
		() => undefined,
	);
	if (built === undefined) return `${DIST_BINARY} does not exist`;
	for (const input of BUILD_INPUTS) {
		const newer = await findNewerFile(join(ROOT, input), built);
		if (newer)
			return `${newer.slice(ROOT.length)} is newer than ${DIST_BINARY}`;
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
