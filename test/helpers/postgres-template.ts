/**
 * Template data directories: `initdb` takes 1.4 to 1.8 s here, so the first
 * cluster of a run on each server initdb's a template into the run's cache
 * (test/helpers/test-run-cache.ts, removed when the run ends) and every
 * cluster copies it with `cp -a` (under 0.1 s).
 */
import { createHash } from "node:crypto";
import {
	access,
	chown,
	mkdtemp,
	rename,
	rm,
	writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { exec, type ServerTools } from "./postgres-tools.ts";
import { getRunCacheDir } from "./test-run-cache.ts";

const INITDB_ARGS = [
	"--auth=trust",
	"-U",
	"postgres",
	"--encoding=UTF8",
	// Fixed so that the template does not depend on the caller's LANG; C.UTF-8 is built into glibc >= 2.35.
	"--locale=C.UTF-8",
	"--no-sync",
];
const COMPLETE_MARKER = "sherpany-template-complete";

/**
 * Copies the run's template data directory for this server to `dataDir`,
 * making the template first. It is made aside and renamed into place, so
 * concurrent test files never see half of one.
 */
export async function copyTemplate(
	tools: ServerTools,
	dataDir: string,
): Promise<void> {
	const key = createHash("sha256")
		.update(
			[
				tools.bindir,
				INITDB_ARGS.join(" "),
				tools.runAs?.name ?? process.getuid?.(),
			].join("\n"),
		)
		.digest("hex")
		.slice(0, 16);
	const cache = await getRunCacheDir();
	const template = join(cache, `template-${key}`);
	const templateData = join(template, "data");

	if (!(await isCompleteDataDir(templateData))) {
		const staging = await mkdtemp(join(cache, `template-${key}.tmp-`));
		try {
			if (tools.runAs) await chown(staging, tools.runAs.uid, tools.runAs.gid);
			await tools.run(
				"initdb",
				["-D", join(staging, "data"), ...INITDB_ARGS],
				staging,
			);
			await writeFile(join(staging, "data", COMPLETE_MARKER), "");
			await rename(staging, template);
		} catch (error) {
			await rm(staging, { recursive: true, force: true });
			// Losing the race to another test file is fine: use its template.
			if (!(await isCompleteDataDir(templateData))) throw error;
		}
	}
	await exec("cp", ["-a", templateData, dataDir], "/");
	await rm(join(dataDir, COMPLETE_MARKER), { force: true });
}

async function isCompleteDataDir(dir: string): Promise<boolean> {
	try {
		await access(join(dir, COMPLETE_MARKER));
		await access(join(dir, "global", "pg_control"));
		return true;
	} catch {
		return false;
	}
}
