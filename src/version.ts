/** The version and runtime this build reports in `--version`, logs and `*_build_info`. */
import packageJson from "../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;

/** e.g. `node 24.21.0` or `deno 2.9.6`. */
export function describeRuntime(): string {
	const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
	return deno ? `deno ${deno.version.deno}` : `node ${process.versions.node}`;
}
