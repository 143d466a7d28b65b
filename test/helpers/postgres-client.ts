/**
 * PostgreSQL's client tools (pg_dump, pg_restore) of a server's own major
 * version, for the suites that dump and restore: pg_dump must be of the
 * server's major version or newer, and the npm PostgreSQL 18 ships no
 * client tools.
 *
 * A system server's bindir has them. For PostgreSQL 18 they come from
 * Debian's `postgresql-client-18`, which only sid has: a root unpacked by
 * mmdebstrap once per machine (and per recipe) under the temp dir, beside a
 * directory of small scripts that start each tool with the root's own
 * loader and libraries. The tools then run on the host, with its paths,
 * network and environment, as the manifest's command expects (a chroot
 * would see neither the dump's file nor the password file).
 *
 * When mmdebstrap is missing, {@link clientBindirOrSkip} ends the calling
 * test with no assertion (a skip) and a message naming `.ci/install-podman.sh`, unless `CI` is set:
 * there a missing piece fails the run.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
	access,
	chmod,
	mkdir,
	mkdtemp,
	rename,
	rm,
	writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Test } from "tap";
import { hasCommand } from "./podman.ts";
import type { PostgresServer } from "./postgres-servers.ts";

const run = promisify(execFile);

/** The tools the dump-and-restore suites run, in every client bindir. */
const CLIENT_TOOLS = ["pg_dump", "pg_restore"] as const;

/** Debian suites that have the client of a major version no release of theirs does. */
const DEBIAN_CLIENTS: Readonly<Record<number, string>> = { 18: "sid" };

/** The loader of the root's libc, per Node's architecture name. */
const LOADERS: Readonly<Record<string, [string, string]>> = {
	x64: ["usr/lib64/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu"],
	arm64: ["usr/lib/ld-linux-aarch64.so.1", "usr/lib/aarch64-linux-gnu"],
};

/** `18.1` → 18. */
export function majorOf(version: string): number {
	return Number.parseInt(version, 10);
}

/**
 * A directory holding pg_dump and pg_restore of `server`'s major version,
 * or undefined (the test skipped) when making it needs mmdebstrap and it is
 * missing outside CI.
 */
export async function clientBindirOrSkip(
	t: Test,
	server: PostgresServer,
): Promise<string | undefined> {
	if (server.source === "system") return server.bindir;
	const major = majorOf(server.version);
	const suite = DEBIAN_CLIENTS[major];
	if (suite === undefined)
		throw new Error(
			`no Debian suite known for the PostgreSQL ${major} client: add one to DEBIAN_CLIENTS`,
		);
	if (!(await hasCommand("mmdebstrap"))) {
		const message = `mmdebstrap is missing: run \`sudo bash .ci/install-podman.sh\` to dump and restore with the PostgreSQL ${major} client`;
		if (process.env.CI)
			throw new Error(`${message} (CI is set, so this fails)`);
		t.plan(0, message);
		return undefined;
	}
	return debianClient(major, suite);
}

/**
 * The scripts directory of a root with `postgresql-client-<major>` from
 * `suite`, made once: about 25 s of mmdebstrap and 100 MB, which unpacks
 * the packages and runs nothing of them.
 */
async function debianClient(major: number, suite: string): Promise<string> {
	const loader = LOADERS[process.arch];
	if (loader === undefined)
		throw new Error(`no loader known for ${process.arch}`);
	const recipe = `${suite} postgresql-client-${major} ${process.arch}`;
	const digest = createHash("sha256").update(recipe).digest("hex").slice(0, 8);
	const home = join(tmpdir(), `sherpany-pg${major}-client-${digest}`);
	const bindir = join(home, "bin");
	if (await exists(join(bindir, "pg_restore"))) return bindir;
	const work = await mkdtemp(join(tmpdir(), `sherpany-pg${major}-client-new-`));
	try {
		await run(
			"mmdebstrap",
			[
				"--quiet",
				"--variant=extract",
				// sid's Release is valid a week and the mirror here may be older;
				// its signature is still checked.
				"--aptopt=Acquire::Check-Valid-Until false",
				`--include=postgresql-client-${major}`,
				suite,
				join(work, "root"),
			],
			{ timeout: 600_000 },
		);
		await writeScripts(join(work, "bin"), home, major, loader);
		// Another test file may have made it meanwhile: keep the first.
		await rename(work, home).catch(() => undefined);
	} finally {
		await rm(work, { recursive: true, force: true });
	}
	await checkVersion(bindir, major);
	return bindir;
}

/** A script per tool that starts it with the root's loader and libraries. */
async function writeScripts(
	dir: string,
	home: string,
	major: number,
	[loader, libdir]: [string, string],
): Promise<void> {
	await mkdir(dir);
	const root = join(home, "root");
	for (const tool of CLIENT_TOOLS) {
		const script = join(dir, tool);
		await writeFile(
			script,
			`#!/bin/sh\nexec '${root}/${loader}' --library-path '${root}/${libdir}' '${root}/usr/lib/postgresql/${major}/bin/${tool}' "$@"\n`,
		);
		await chmod(script, 0o755);
	}
}

async function checkVersion(bindir: string, major: number): Promise<void> {
	for (const tool of CLIENT_TOOLS) {
		const { stdout } = await run(join(bindir, tool), ["--version"]);
		if (!stdout.includes(`(PostgreSQL) ${major}.`))
			throw new Error(`${tool} in ${bindir} is not ${major}: ${stdout}`);
	}
}

function exists(path: string): Promise<boolean> {
	return access(path).then(
		() => true,
		() => false,
	);
}
