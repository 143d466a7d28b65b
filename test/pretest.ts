/**
 * `npm test`'s `pretest` step: runs `npm run build` when `dist/sherpany` is
 * missing or older than its sources, and does nothing (in well under a
 * second) when it is up to date. Building here, before tap starts, keeps a
 * one-minute build out of the test run's timeouts and makes it visible.
 */
import { spawnSync } from "node:child_process";
import { findStaleReason, ROOT } from "./helpers/dist.ts";

const reason = await findStaleReason();
if (reason === undefined) {
	console.log("pretest: dist/sherpany is up to date");
} else {
	console.log(`pretest: ${reason}: running npm run build`);
	const build = spawnSync("npm", ["run", "build"], {
		cwd: ROOT,
		stdio: "inherit",
	});
	process.exitCode = build.status ?? 1;
}
