/**
 * Running PostgreSQL's own programs for test/helpers/postgres.ts: as the
 * `postgres` OS user when the tests run as root (initdb and postgres refuse
 * root), with the caller's PG* variables removed.
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import type { ServerUser } from "./postgres-servers.ts";

/** Who runs the server when the tests run as root, in order of preference. */
const SERVER_USERS_WHEN_ROOT = ["postgres", "nobody"];

/** Runs server tools directly, or as the server user through `runuser` when we are root. */
export class ServerTools {
	readonly bindir: string;
	readonly runAs: ServerUser | undefined;
	readonly cwd: string;

	constructor(bindir: string, runAs: ServerUser | undefined, cwd: string) {
		this.bindir = bindir;
		this.runAs = runAs;
		this.cwd = cwd;
	}

	/** The argv that runs `tool` with `args` as the server user. */
	command(tool: string, args: readonly string[]): string[] {
		const path = join(this.bindir, tool);
		return this.runAs
			? ["runuser", "-u", this.runAs.name, "--", path, ...args]
			: [path, ...args];
	}

	run(tool: string, args: readonly string[], cwd = this.cwd): Promise<string> {
		const [file, ...rest] = this.command(tool, args);
		return exec(file as string, rest, cwd);
	}
}

/** Runs `file` without the caller's PG* variables; resolves with its stdout. */
export function exec(
	file: string,
	args: readonly string[],
	cwd: string,
): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(file, args, { cwd, env: serverEnv() }, (error, stdout, stderr) => {
			if (error) {
				const command = [file, ...args].join(" ");
				reject(
					new Error(`${command} failed: ${stderr.trim() || error.message}`, {
						cause: error,
					}),
				);
			} else {
				resolve(stdout);
			}
		});
	});
}

/** The caller's environment without PG* variables, so a developer's PGDATA or PGPORT can't leak in. */
function serverEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (!key.startsWith("PG")) env[key] = value;
	}
	return env;
}

/** Quotes a word for /bin/sh (pg_ctl hands `-o` to a shell). */
export function quoteForShell(word: string): string {
	return /^[\w@%+=:,./-]+$/.test(word)
		? word
		: `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The OS user to run the server as when we are root: `postgres` where a
 * PostgreSQL package made one, else `nobody`, which every Linux has, so
 * the npm PostgreSQL runs as root's tests without creating a user.
 */
export async function findServerUser(): Promise<ServerUser> {
	for (const name of SERVER_USERS_WHEN_ROOT) {
		try {
			const [uid, gid] = await Promise.all([
				exec("id", ["-u", name], "/"),
				exec("id", ["-g", name], "/"),
			]);
			return { name, uid: Number(uid.trim()), gid: Number(gid.trim()) };
		} catch {
			// No such user: try the next.
		}
	}
	throw new Error(
		`Running as root, but there is no ${SERVER_USERS_WHEN_ROOT.join(" or ")} OS user to run PostgreSQL as (it refuses root): run the tests as a non-root user`,
	);
}

/**
 * Best effort against a crashed test process leaving a postgres running: a
 * detached shell polls this process and, once it is gone, stops the cluster
 * and removes its directory. Normal teardown kills the watchdog.
 */
export function startWatchdog(
	tools: ServerTools,
	dataDir: string,
	dir: string,
): number | undefined {
	const script =
		'parent=$1; dir=$2; shift 2; while kill -0 "$parent" 2>/dev/null; do sleep 1; done; "$@" >/dev/null 2>&1; rm -rf "$dir"';
	const stop = tools.command("pg_ctl", [
		"-D",
		dataDir,
		"-m",
		"immediate",
		"-w",
		"stop",
	]);
	const child = spawn(
		"sh",
		["-c", script, "sherpany-pg-watchdog", String(process.pid), dir, ...stop],
		{
			cwd: "/",
			detached: true,
			stdio: "ignore",
			env: serverEnv(),
		},
	);
	child.on("error", () => {});
	child.unref();
	return child.pid;
}
