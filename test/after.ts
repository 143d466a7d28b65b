/**
 * tap's `after` hook (package.json "tap".after): runs once when a tap run
 * ends and removes that run's cache (test/helpers/test-run-cache.ts). tap
 * starts it as a child of the runner, so its parent's pid names the run.
 */
import { removeRunCache } from "./helpers/test-run-cache.ts";

await removeRunCache(process.env.SHERPANY_TEST_RUN_ID ?? String(process.ppid));
