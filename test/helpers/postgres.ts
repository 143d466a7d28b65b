/**
 * Throwaway PostgreSQL clusters for tests.
 *
 * `startPostgres(t)` gives one tap test its own cluster: a fresh data
 * directory in a temp dir, a free port on 127.0.0.1, trust auth for the
 * `postgres` superuser, and durability switched off for speed. The cluster is
 * stopped and its directory removed when the test ends.
 *
 * `initdb` takes 1.4 to 1.8 s here, so the first call on a machine initdb's a
 * template data directory in `os.tmpdir()` (keyed by the server binary,
 * initdb options and OS user) and every cluster copies it with `cp -a`
 * (under 0.1 s). A warm start then takes about 0.4 s on an idle machine.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
	access,
	chmod,
	chown,
	mkdir,
	mkdtemp,
	readdir,
	readFile,
	rename,
	rm,
	stat,
	writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { Test } from "tap";

/** A running throwaway PostgreSQL cluster. */
export interface PostgresCluster {
	/** `postgres://postgres@127.0.0.1:PORT/postgres`: the maintenance database (superuser, trust auth, no TLS required). */
	readonly adminUrl: string;
	readonly port: number;
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
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
	/** Turn on TLS with a CA and server certificate made on the spot; the CA is at `cluster.caFile`. */
	ssl?: boolean;
}

/** The part of a tap `Test` the helper needs. */
type TestWithTeardown = Pick<Test, "teardown">;

/** OS user that runs the server when the tests run as root (initdb and postgres refuse root). */
const SERVER_USER_WHEN_ROOT = "postgres";
const INITDB_ARGS = [
	"--auth=trust",
	"-U",
	"postgres",
	"--encoding=UTF8",
	// Fixed so that the template does not depend on the caller's LANG; C.UTF-8 is built into glibc >= 2.35.
	"--locale=C.UTF-8",
	"--no-sync",
];
const SERVER_SETTINGS = [
	"listen_addresses=127.0.0.1",
	"fsync=off",
	"full_page_writes=off",
	"synchronous_commit=off",
];
const TEMPLATE_PREFIX = "sherpany-pg-template-";
const INSTALL_HINT =
	"install PostgreSQL server binaries (`apt-get install -y postgresql`, or run .ci/install-postgres.sh) or set PG_BIN to the directory holding initdb, pg_ctl and postgres";

let databaseCounter = 0;
let serverBinaries: Promise<string> | undefined;
let serverUser: Promise<OsUser | undefined> | undefined;

/**
 * Starts a throwaway PostgreSQL cluster for one tap test and registers its
 * teardown (stop the server, remove the temp dir) with `t.teardown`.
 */
export async function startPostgres(
	t: TestWithTeardown,
	options: StartPostgresOptions = {},
): Promise<PostgresCluster> {
	// Looked up once per process: each spawn costs tens of milliseconds.
	serverBinaries ??= findServerBinaries();
	serverUser ??=
		process.getuid?.() === 0
			? lookUpUser(SERVER_USER_WHEN_ROOT)
			: Promise.resolve(undefined);
	const [bindir, runAs] = await Promise.all([serverBinaries, serverUser]);
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

		port = await findFreePort();
		try {
			await startOn(port);
		} catch (error) {
			// Another process may have taken the port between probing it and binding it: retry once.
			if (!(error instanceof PortOrStartError && error.portTaken)) throw error;
			port = await findFreePort();
			await startOn(port);
		}
		watchdog = startWatchdog(tools, dataDir, dir);

		const adminUrl = urlFor(port, "postgres");
		const cluster: PostgresCluster = {
			adminUrl,
			port,
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
				await startOn(port);
			},
		};
		t.teardown(cleanUp);
		return cluster;
	} catch (error) {
		await cleanUp();
		throw error;
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

interface OsUser {
	name: string;
	uid: number;
	gid: number;
}

/** Runs server tools directly, or as the server user through `runuser` when we are root. */
class ServerTools {
	readonly bindir: string;
	readonly runAs: OsUser | undefined;
	readonly cwd: string;

	constructor(bindir: string, runAs: OsUser | undefined, cwd: string) {
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

function exec(
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

function quoteForShell(word: string): string {
	return /^[\w@%+=:,./-]+$/.test(word)
		? word
		: `'${word.replaceAll("'", `'\\''`)}'`;
}

async function isServerBindir(dir: string): Promise<boolean> {
	try {
		await Promise.all(
			["initdb", "pg_ctl", "postgres"].map((tool) => access(join(dir, tool))),
		);
		return true;
	} catch {
		return false;
	}
}

/** Finds initdb/pg_ctl/postgres: `PG_BIN`, then `pg_config --bindir`, then the newest `/usr/lib/postgresql/N/bin`. */
async function findServerBinaries(): Promise<string> {
	const fromEnv = process.env.PG_BIN;
	if (fromEnv) {
		if (await isServerBindir(fromEnv)) return fromEnv;
		throw new Error(
			`PG_BIN=${fromEnv} holds no initdb, pg_ctl and postgres: point PG_BIN at the bin directory of a PostgreSQL server install, or unset it`,
		);
	}
	const fromPgConfig = await exec(
		"pg_config",
		["--bindir"],
		process.cwd(),
	).then(
		(out) => out.trim(),
		() => "",
	);
	if (fromPgConfig && (await isServerBindir(fromPgConfig))) return fromPgConfig;
	const versions = await readdir("/usr/lib/postgresql").catch(
		() => [] as string[],
	);
	versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
	for (const version of versions) {
		const dir = join("/usr/lib/postgresql", version, "bin");
		if (await isServerBindir(dir)) return dir;
	}
	throw new Error(`No PostgreSQL server binaries found: ${INSTALL_HINT}`);
}

async function lookUpUser(name: string): Promise<OsUser> {
	try {
		const [uid, gid] = await Promise.all([
			exec("id", ["-u", name], "/"),
			exec("id", ["-g", name], "/"),
		]);
		return { name, uid: Number(uid.trim()), gid: Number(gid.trim()) };
	} catch (error) {
		throw new Error(
			`Running as root, but there is no "${name}" OS user to run PostgreSQL as: ${INSTALL_HINT} (the package creates the user), or run the tests as a non-root user`,
			{ cause: error },
		);
	}
}

function findFreePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			server.close(() =>
				port ? resolve(port) : reject(new Error("could not read a free port")),
			);
		});
	});
}

/**
 * Copies the cached template data directory to `dataDir`, making the template
 * first if this machine has none for this server and user. The template is
 * built in a temp dir and renamed into place, so readers never see half of one.
 */
async function copyTemplate(
	tools: ServerTools,
	dataDir: string,
): Promise<void> {
	// The binary's size and mtime change with every package upgrade; stat is cheaper than `postgres --version`.
	const binary = await stat(join(tools.bindir, "postgres"));
	const version = `${binary.size}:${binary.mtimeMs}`;
	const key = createHash("sha256")
		.update(
			[
				tools.bindir,
				version,
				INITDB_ARGS.join(" "),
				tools.runAs?.name ?? process.getuid?.(),
			].join("\n"),
		)
		.digest("hex")
		.slice(0, 16);
	const template = join(tmpdir(), `${TEMPLATE_PREFIX}${key}`);
	const templateData = join(template, "data");

	if (!(await isCompleteDataDir(templateData))) {
		// A dir without a complete data dir was half-deleted (tmp cleaners): replace it.
		await rm(template, { recursive: true, force: true }).catch(() => {});
		const staging = await mkdtemp(
			join(tmpdir(), `${TEMPLATE_PREFIX}${key}.tmp-`),
		);
		try {
			if (tools.runAs) await chown(staging, tools.runAs.uid, tools.runAs.gid);
			await tools.run(
				"initdb",
				["-D", join(staging, "data"), ...INITDB_ARGS],
				staging,
			);
			await writeFile(
				join(staging, "data", "sherpany-template-complete"),
				`${version}`,
			);
			await rename(staging, template);
		} catch (error) {
			await rm(staging, { recursive: true, force: true });
			// Losing the race to another test process is fine: use its template.
			if (!(await isCompleteDataDir(templateData))) throw error;
		}
	}
	await exec("cp", ["-a", templateData, dataDir], "/");
	await rm(join(dataDir, "sherpany-template-complete"), { force: true });
}

async function isCompleteDataDir(dir: string): Promise<boolean> {
	try {
		await access(join(dir, "sherpany-template-complete"));
		await access(join(dir, "global", "pg_control"));
		return true;
	} catch {
		return false;
	}
}

interface Certificates {
	caFile: string;
	certFile: string;
	keyFile: string;
}

/** Makes a CA and a server certificate for 127.0.0.1/localhost signed by it, with P-256 keys (faster than RSA). */
async function makeCertificates(
	dir: string,
	runAs: OsUser | undefined,
): Promise<Certificates> {
	await mkdir(dir);
	const path = (name: string) => join(dir, name);
	const openssl = (args: string) => exec("openssl", args.split(" "), dir);
	const newKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	await writeFile(
		path("server.ext"),
		"subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
			"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
	);
	// Names without spaces, so the argument strings can be split on spaces.
	await Promise.all([
		openssl(
			`req -x509 ${newKey} -keyout ca.key -out ca.crt -days 2 -subj /CN=sherpany-test-ca ` +
				"-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
		),
		openssl(
			`req ${newKey} -keyout server.key -out server.csr -subj /CN=127.0.0.1`,
		),
	]);
	await openssl(
		"x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt",
	);
	// PostgreSQL refuses a key that others can read or that another user owns.
	await chmod(path("server.key"), 0o600);
	if (runAs) {
		for (const name of ["", "server.key", "server.crt"]) {
			await chown(path(name), runAs.uid, runAs.gid);
		}
	}
	return {
		caFile: path("ca.crt"),
		certFile: path("server.crt"),
		keyFile: path("server.key"),
	};
}

/**
 * Best effort against a crashed test process leaving a postgres running: a
 * detached shell polls this process and, once it is gone, stops the cluster
 * and removes its directory. Normal teardown kills the watchdog.
 */
function startWatchdog(
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
