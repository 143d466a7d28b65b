/**
 * Throwaway PostgreSQL clusters for tests.
 *
 * `startPostgres(t)` gives one tap test its own cluster: a fresh data
 * directory in a temp dir, a free port on 127.0.0.1, trust auth for the
 * `postgres` superuser, and durability switched off for speed. The cluster is
 * stopped and its directory removed when the test ends.
 *
 * The server is a system PostgreSQL or PostgreSQL 18 from npm, and a test
 * file that starts one runs on each of them
 * (test/helpers/postgres-servers.ts, test/helpers/postgres-matrix.ts).
 * Clusters copy a template data directory made once per run
 * (test/helpers/postgres-template.ts); a warm start takes about 0.4 s on an
 * idle machine.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chown, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { Test } from "tap";
import { makeCertificates } from "./certificates.ts";
import { freePort } from "./free-port.ts";
import { chooseServer } from "./postgres-matrix.ts";

export { isPostgresRerun } from "./postgres-matrix.ts";

import type { PostgresServer, ServerUser } from "./postgres-servers.ts";
import { copyTemplate } from "./postgres-template.ts";
import {
	findServerUser,
	quoteForShell,
	ServerTools,
	startWatchdog,
} from "./postgres-tools.ts";

/** A running throwaway PostgreSQL cluster. */
export interface PostgresCluster {
	/** `postgres://postgres@127.0.0.1:PORT/postgres`: the maintenance database (superuser, trust auth, no TLS required). */
	readonly adminUrl: string;
	readonly port: number;
	/** The server install it runs on (version, bindir). */
	readonly server: PostgresServer;
	/** Path of the PEM CA certificate that signed the server certificate; set when started with `{ ssl: true }`. */
	readonly caFile?: string;
	/** Creates a fresh empty database with a unique name and returns its connection URL. */
	createDatabase(): Promise<string>;
	/**
	 * Runs SQL (through the `pg` package, simple query protocol, so several
	 * `;`-separated statements are allowed) against a database URL. Returns
	 * the rows of the last statement (empty for statements without rows).
	 */
	query(url: string, sql: string): Promise<Record<string, unknown>[]>;
	/** Fast shutdown (`pg_ctl -m fast`). Idempotent. */
	stop(): Promise<void>;
	/** Starts again on the same port and data directory (for outage tests). Idempotent. */
	start(): Promise<void>;
	/**
	 * SIGKILLs the postmaster, as a crash or an OOM kill would: no shutdown
	 * message reaches the clients, and `start` then runs crash recovery.
	 * Resolves once the postmaster has gone. Idempotent.
	 */
	kill(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
	/** Turn on TLS with a CA and server certificate made on the spot (needs `openssl`); the CA is at `cluster.caFile`. */
	ssl?: boolean;
	/**
	 * Server programs the test needs beside initdb, pg_ctl and postgres, such
	 * as `pg_basebackup` (replication): only a system PostgreSQL has them,
	 * and the test fails saying so when none is installed.
	 */
	tools?: readonly string[];
	/**
	 * `false` runs the test file on the first server only, with no re-run on
	 * the others: for suites whose subject is not the database (an image, a
	 * deployment, dashboards) and that only need one to talk to. Read on the
	 * file's first call. Default `true`.
	 */
	everyServer?: boolean;
	/**
	 * Start the cluster on this server instead of the file's own (for a test
	 * that needs two versions at once, such as a dump from one restored into
	 * another). Only after a first start without it, which picks the file's
	 * server and schedules its re-runs.
	 */
	server?: PostgresServer;
}

/** The part of a tap `Test` the helper needs. */
type TestWithTeardown = Pick<Test, "teardown">;

const SERVER_SETTINGS = [
	"listen_addresses=127.0.0.1",
	"fsync=off",
	"full_page_writes=off",
	"synchronous_commit=off",
];

let databaseCounter = 0;
let serverUser: Promise<ServerUser | undefined> | undefined;

/**
 * Starts a throwaway PostgreSQL cluster for one tap test and registers its
 * teardown (stop the server, remove the temp dir) with `t.teardown`.
 */
export async function startPostgres(
	t: TestWithTeardown,
	options: StartPostgresOptions = {},
): Promise<PostgresCluster> {
	// Looked up once per process: each spawn costs tens of milliseconds.
	serverUser ??=
		process.getuid?.() === 0 ? findServerUser() : Promise.resolve(undefined);
	const runAs = await serverUser;
	const server =
		options.server ??
		(await chooseServer(runAs, options.tools, options.everyServer));
	const bindir = server.bindir;
	const dir = await mkdtemp(join(tmpdir(), "sherpany-pg-"));
	const dataDir = join(dir, "data");
	const socketDir = join(dir, "sock");
	const logFile = join(dir, "postgres.log");
	const tools = new ServerTools(bindir, runAs, dir);
	let watchdog: number | undefined;
	let running = false;
	let port = 0;
	let caFile: string | undefined;

	const cleanUp = async (): Promise<void> => {
		if (running) {
			await tools
				.run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"])
				.catch(() =>
					tools
						.run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
						.catch(() => {}),
				);
			running = false;
		}
		if (watchdog !== undefined) {
			try {
				process.kill(watchdog);
			} catch {
				// Already gone.
			}
		}
		await rm(dir, { recursive: true, force: true });
	};

	try {
		await mkdir(socketDir);
		if (runAs) {
			await chown(dir, runAs.uid, runAs.gid);
			await chown(socketDir, runAs.uid, runAs.gid);
		}
		const [, ssl] = await Promise.all([
			copyTemplate(tools, dataDir),
			options.ssl ? makeCertificates(join(dir, "ssl"), runAs) : undefined,
		]);
		caFile = ssl?.caFile;
		const settings = [...SERVER_SETTINGS];
		if (ssl) {
			settings.push(
				"ssl=on",
				`ssl_cert_file=${ssl.certFile}`,
				`ssl_key_file=${ssl.keyFile}`,
			);
		}
		const pgCtlStart = (p: number): string[] => [
			"-w",
			"-D",
			dataDir,
			"-l",
			logFile,
			"-o",
			// pg_ctl hands -o to /bin/sh, so quote each word.
			["-p", String(p), "-k", socketDir, ...settings.flatMap((s) => ["-c", s])]
				.map(quoteForShell)
				.join(" "),
			"start",
		];
		const startOn = async (p: number): Promise<void> => {
			try {
				await tools.run("pg_ctl", pgCtlStart(p));
			} catch (error) {
				const log = await readFile(logFile, "utf8").catch(() => "");
				throw new PortOrStartError(p, log, error);
			}
			running = true;
		};

		port = await freePort();
		try {
			await startOn(port);
		} catch (error) {
			// Another process may have taken the port between probing it and binding it: retry once.
			if (!(error instanceof PortOrStartError && error.portTaken)) throw error;
			port = await freePort();
			await startOn(port);
		}
		watchdog = startWatchdog(tools, dataDir, dir);

		const adminUrl = urlFor(port, "postgres");
		const cluster: PostgresCluster = {
			adminUrl,
			port,
			server,
			...(caFile === undefined ? {} : { caFile }),
			async createDatabase() {
				databaseCounter += 1;
				const name = `test_${process.pid}_${databaseCounter}_${randomBytes(3).toString("hex")}`;
				await runQuery(adminUrl, `CREATE DATABASE "${name}"`);
				return urlFor(port, name);
			},
			query: runQuery,
			async stop() {
				if (!running) return;
				await tools.run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
				running = false;
			},
			async start() {
				if (running) return;
				// After a kill, orphaned backends may still hold the shared
				// memory for a moment; the postmaster refuses to start until
				// they have gone.
				for (let attempt = 1; ; attempt += 1) {
					try {
						await startOn(port);
						return;
					} catch (error) {
						if (attempt >= 20) throw error;
						await new Promise((resolve) => setTimeout(resolve, 100));
					}
				}
			},
			async kill() {
				if (!running) return;
				const pidFile = await readFile(join(dataDir, "postmaster.pid"), "utf8");
				const pid = Number(pidFile.split("\n")[0]);
				process.kill(pid, "SIGKILL");
				running = false;
				for (let waited = 0; waited < 10_000; waited += 20) {
					if (!isAlive(pid)) return;
					await new Promise((resolve) => setTimeout(resolve, 20));
				}
				throw new Error(`the postmaster (pid ${pid}) outlived SIGKILL by 10 s`);
			},
		};
		t.teardown(cleanUp);
		return cluster;
	} catch (error) {
		await cleanUp();
		throw error;
	}
}

/**
 * True while a process with this pid runs. A zombie counts as gone: in a
 * container whose init does not reap, a killed postmaster stays one.
 */
function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	try {
		// The state follows the parenthesised command name.
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return (
			stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
		);
	} catch {
		return true;
	}
}

/** Runs one SQL string and returns the rows of its last statement. */
async function runQuery(
	url: string,
	sql: string,
): Promise<Record<string, unknown>[]> {
	const client = new Client({ connectionString: url });
	await client.connect();
	try {
		// pg returns an array of results when the string holds several statements.
		const result: unknown = await client.query(sql);
		const last = Array.isArray(result) ? result.at(-1) : result;
		return (
			(last as { rows?: Record<string, unknown>[] } | undefined)?.rows ?? []
		);
	} finally {
		await client.end();
	}
}

function urlFor(port: number, database: string): string {
	return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

class PortOrStartError extends Error {
	readonly portTaken: boolean;

	constructor(port: number, log: string, cause: unknown) {
		const tail = log.trim().split("\n").slice(-15).join("\n");
		super(
			`PostgreSQL did not start on 127.0.0.1:${port}; server log:\n${tail || "(empty)"}\n` +
				"If the log is empty, check that the server user can reach the temp dir (TMPDIR).",
			{ cause },
		);
		this.name = "PostgresStartError";
		this.portTaken =
			/could not bind|Address already in use|another postmaster/i.test(log);
	}
}
