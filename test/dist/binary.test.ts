/**
 * The built single executable, run as a user would: only `dist/sherpany` is
 * copied into a fresh temp dir outside the repo, and it runs from there with
 * PATH=/usr/bin:/bin and nothing else in its environment, so no
 * node_modules, migrations/ folder or Node install can help it. Once against
 * a real PostgreSQL, once on the embedded default (PGlite in
 * `.sherpany/data` under the working directory).
 *
 * `dist/sherpany` is rebuilt first (`npm run build`) when it is missing or
 * older than src/, migrations/, build.mjs or package.json.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
	access,
	copyFile,
	mkdtemp,
	readdir,
	realpath,
	rm,
	stat,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { hasStackTrace } from "../helpers/cli.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort, watchUntilListening } from "../helpers/serve.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST_BINARY = join(ROOT, "dist", "sherpany");
/** All the binary gets: no HOME, no NODE_OPTIONS, no PG* variables. */
const MINIMAL_PATH = "/usr/bin:/bin";
const ENV = "/usr/bin/env";
const VERSION_LINE = /^sherpany \d+\.\d+\.\d+ \(node 24\.\d+\.\d+\)\n$/;
const SAMPLE_USERS = [
	{ id: 1, name: "John Doe", email: "john@example.com" },
	{ id: 2, name: "Jane Smith", email: "jane@example.com" },
	{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
];
const EMBEDDED_NOTICE =
	"sherpany: no database configured: using the embedded PGlite database in .sherpany/data; set DATABASE_URL (or PGHOST) to use PostgreSQL\n";

await ensureBuilt();

interface RunResult {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	readonly stdout: string;
	readonly stderr: string;
}

/** A temp dir outside the repo holding nothing but a copy of the binary. */
interface Sandbox {
	readonly dir: string;
	readonly binary: string;
	run(
		args: readonly string[],
		env?: Record<string, string>,
	): Promise<RunResult>;
	serve(t: Test, env?: Record<string, string>): Promise<ServeProcess>;
}

interface ServeProcess {
	readonly child: ChildProcess;
	readonly pid: number;
	readonly port: number;
	readonly baseUrl: string;
	readonly lines: string[];
	readonly stderr: () => string;
	readonly exited: Promise<number | string>;
	/** The parsed JSON log lines so far. */
	logs(): Record<string, unknown>[];
}

async function newestMtime(path: string): Promise<number> {
	const info = await stat(path);
	if (!info.isDirectory()) return info.mtimeMs;
	let newest = info.mtimeMs;
	for (const entry of await readdir(path)) {
		newest = Math.max(newest, await newestMtime(join(path, entry)));
	}
	return newest;
}

/** Runs `npm run build` when dist/sherpany is missing or older than its sources. */
async function ensureBuilt(): Promise<void> {
	const sources = ["src", "migrations", "build.mjs", "package.json"];
	const newestSource = Math.max(
		...(await Promise.all(sources.map((p) => newestMtime(join(ROOT, p))))),
	);
	const built = await stat(DIST_BINARY).then(
		(info) => info.mtimeMs,
		() => 0,
	);
	if (built >= newestSource) return;
	// Without tap's coverage loader: the build must run as `npm run build` would.
	const env = Object.fromEntries(
		Object.entries(process.env).filter(
			([key]) =>
				!/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP_|TAP$)/.test(key),
		),
	);
	env.PATH = `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? MINIMAL_PATH}`;
	await new Promise<void>((resolve, reject) => {
		// tap adds its coverage loader to NODE_OPTIONS of every child it spawns; env -u drops it.
		execFile(
			"/usr/bin/env",
			["-u", "NODE_OPTIONS", "npm", "run", "build"],
			{ cwd: ROOT, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
			(error, stdout, stderr) => {
				if (error)
					reject(
						new Error(`npm run build failed:\n${stdout}\n${stderr}`, {
							cause: error,
						}),
					);
				else resolve();
			},
		);
	});
}

async function sandbox(t: Test): Promise<Sandbox> {
	// realpath: the binary reports the data directory by the real path of its cwd.
	const dir = await realpath(
		await mkdtemp(join(tmpdir(), "sherpany-binary-test-")),
	);
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	const binary = join(dir, "sherpany");
	await copyFile(DIST_BINARY, binary);
	// copyFile keeps the mode bits, so the copy is executable.
	// tap adds NODE_OPTIONS (its coverage loader, from node_modules) to the
	// environment of every child it spawns, and the binary honours
	// NODE_OPTIONS like any Node: `env -i` starts it with exactly `env`.
	const argvFor = (
		env: Record<string, string>,
		args: readonly string[],
	): string[] => [
		"-i",
		...Object.entries({ PATH: MINIMAL_PATH, ...env }).map(
			([key, value]) => `${key}=${value}`,
		),
		binary,
		...args,
	];
	return {
		dir,
		binary,
		run: (args, env = {}) =>
			new Promise((resolve) => {
				execFile(
					ENV,
					argvFor(env, args),
					{ cwd: dir, timeout: 60_000 },
					(error, stdout, stderr) => {
						const failure = error as
							| (Error & { code?: unknown; signal?: NodeJS.Signals | null })
							| null;
						resolve({
							code: failure
								? typeof failure.code === "number"
									? failure.code
									: null
								: 0,
							signal: failure?.signal ?? null,
							stdout,
							stderr,
						});
					},
				);
			}),
		async serve(t, env = {}) {
			const port = await freePort();
			// env execs the binary in place: the child's pid is the server's.
			const child = spawn(
				ENV,
				argvFor(
					{
						PORT: String(port),
						HOST: "127.0.0.1",
						SHUTDOWN_DELAY_MS: "0",
						...env,
					},
					["serve"],
				),
				{
					cwd: dir,
					stdio: ["ignore", "pipe", "pipe"],
				},
			);
			const { lines, stderr, exited } = await watchUntilListening(t, child);
			return {
				child,
				pid: child.pid as number,
				port,
				baseUrl: `http://127.0.0.1:${port}`,
				lines,
				stderr,
				exited,
				logs: () =>
					lines.map((line) => JSON.parse(line) as Record<string, unknown>),
			};
		},
	};
}

async function exists(path: string): Promise<boolean> {
	return access(path).then(
		() => true,
		() => false,
	);
}

/** /users, /health, /ready, /metrics and check-health against a running server. */
async function checkHttp(
	t: Test,
	box: Sandbox,
	server: ServeProcess,
	expectedUsers: readonly Record<string, unknown>[],
): Promise<void> {
	const users = await fetch(`${server.baseUrl}/users`);
	t.equal(users.status, 200, "/users 200");
	t.match(users.headers.get("content-type"), /^application\/json/);
	const body = (await users.json()) as unknown[];
	t.equal(body.length, expectedUsers.length, "/users: how many");
	t.match(body, expectedUsers, "/users lists the users by id");
	checkOrdered(t, body);

	const health = await fetch(`${server.baseUrl}/health`);
	t.equal(health.status, 200, "/health 200");
	t.equal(await health.text(), '{"status":"healthy"}', "/health body");

	const ready = await fetch(`${server.baseUrl}/ready`);
	t.equal(ready.status, 200, "/ready 200");
	t.same(
		await ready.json(),
		{ status: "ready", checks: { database: "ok", schema: "ok" } },
		"/ready body",
	);

	const metrics = await fetch(`${server.baseUrl}/metrics`);
	t.equal(metrics.status, 200, "/metrics 200");
	t.match(metrics.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
	const text = await metrics.text();
	t.match(
		text,
		/^sherpany_build_info\{version="\d+\.\d+\.\d+",runtime="node 24\.\d+\.\d+"\} 1$/m,
		"build info",
	);
	t.match(
		text,
		/^http_request_duration_seconds_count\{method="GET",route="\/users",status_code="200"\} 1$/m,
		"request histogram",
	);
	t.match(text, /^process_resident_memory_bytes \d+/m, "default metrics");

	const live = await box.run(["check-health"], { PORT: String(server.port) });
	t.same(
		live,
		{
			code: 0,
			signal: null,
			stdout: `healthy: http://127.0.0.1:${server.port}/health answered 200\n`,
			stderr: "",
		},
		"check-health exits 0",
	);
	const readyProbe = await box.run(["check-health", "--ready"], {
		PORT: String(server.port),
	});
	t.same(
		readyProbe,
		{
			code: 0,
			signal: null,
			stdout: `healthy: http://127.0.0.1:${server.port}/ready answered 200\n`,
			stderr: "",
		},
		"check-health --ready exits 0",
	);
}

/** SIGTERM: exit 0, "shutdown complete" logged, then check-health exits 1. */
async function stopAndCheck(
	t: Test,
	box: Sandbox,
	server: ServeProcess,
): Promise<void> {
	server.child.kill("SIGTERM");
	t.equal(await server.exited, 0, "SIGTERM exits 0");
	t.ok(
		server.logs().some((entry) => entry.msg === "shutdown complete"),
		"shutdown complete logged",
	);
	t.equal(server.stderr(), "", "serve printed nothing on stderr");
	const down = await box.run(["check-health"], { PORT: String(server.port) });
	t.same(
		down,
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: `sherpany: unhealthy: http://127.0.0.1:${server.port}/health unreachable (ECONNREFUSED)\n`,
		},
		"check-health exits 1 once the server is gone",
	);
}

/**
 * The sample users, then `User 1`… from `seed --count`. Their ids are only
 * increasing: an `on conflict do nothing` insert (seed run again) uses up
 * sequence values, as PostgreSQL does.
 */
function userList(count: number): Record<string, unknown>[] {
	return [
		...SAMPLE_USERS,
		...Array.from({ length: count - SAMPLE_USERS.length }, (_, i) => ({
			id: Number,
			name: `User ${i + 1}`,
			email: /^user-[0-9a-f]+-\d+@example\.com$/,
		})),
	];
}

function checkOrdered(t: Test, body: unknown[]): void {
	const ids = body.map((user) => (user as { id: number }).id);
	t.ok(
		ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)),
		`ids increase: ${ids.join(",")}`,
	);
}

async function checkUsers(
	t: Test,
	server: ServeProcess,
	count: number,
	message: string,
): Promise<void> {
	const body = (await (
		await fetch(`${server.baseUrl}/users`)
	).json()) as unknown[];
	t.equal(body.length, count, `${message}: ${count} users`);
	t.match(body, userList(count), message);
	checkOrdered(t, body);
}

function appliedStatus(stdout: string): boolean {
	return /^0001_create_users {2}applied \d{4}-\d\d-\d\dT[\d:.]+Z\n1 applied, 0 pending\n$/.test(
		stdout,
	);
}

t.test("--help and --version, with nothing but the binary", async (t) => {
	const box = await sandbox(t);
	for (const flag of ["--version", "-V"]) {
		const result = await box.run([flag]);
		t.equal(result.code, 0, `${flag} exits 0`);
		t.match(result.stdout, VERSION_LINE, `${flag} names version and runtime`);
		t.equal(result.stderr, "");
	}

	const help = await box.run(["--help"]);
	t.equal(help.code, 0, "--help exits 0");
	t.equal(help.stderr, "");
	t.match(help.stdout, /^Usage: sherpany \[options\] \[command\]\n/);
	for (const command of ["serve", "migrate", "seed", "check-health"])
		t.match(help.stdout, new RegExp(`^ {2}${command} `, "m"), command);

	const serveHelp = await box.run(["serve", "--help"]);
	t.equal(serveHelp.code, 0, "serve --help exits 0");
	t.match(serveHelp.stdout, /^Usage: sherpany serve \[options\]\n/);
	for (const name of ["PORT", "DATABASE_URL", "SHERPANY_DATA_DIR", "HOST"])
		t.match(serveHelp.stdout, name, `serve --help names ${name}`);

	const unknown = await box.run(["serve", "--no-such-flag"]);
	t.equal(unknown.code, 2, "an unknown flag exits 2");
	t.match(unknown.stderr, /unknown option '--no-such-flag'/);
	t.equal(unknown.stdout, "");

	t.notOk(
		await exists(join(box.dir, ".sherpany")),
		"no data directory made by --help or --version",
	);
	t.same(
		(await readdir(box.dir)).sort(),
		["sherpany"],
		"the binary is alone in its directory",
	);
});

t.test("against PostgreSQL", async (t) => {
	const pg = await startPostgres(t);
	const box = await sandbox(t);
	const url = await pg.createDatabase();
	// Trust auth accepts any password: it must still never be printed.
	const env = { DATABASE_URL: url.replace("postgres@", "postgres:s3cret@") };
	const outputs: RunResult[] = [];
	const run = async (args: string[]): Promise<RunResult> => {
		const result = await box.run(args, env);
		outputs.push(result);
		return result;
	};

	t.same(
		await run(["migrate", "status"]),
		{
			code: 0,
			signal: null,
			stdout: "0001_create_users  pending\n0 applied, 1 pending\n",
			stderr: "",
		},
		"migrate status on an empty database",
	);
	t.same(
		await run(["migrate"]),
		{
			code: 0,
			signal: null,
			stdout:
				"applied 0001_create_users\napplied 1 migration(s); the database is up to date\n",
			stderr: "",
		},
		"migrate applies the migration compiled into the binary",
	);
	t.same(
		await run(["migrate"]),
		{
			code: 0,
			signal: null,
			stdout: "the database is up to date\n",
			stderr: "",
		},
		"migrate again is a no-op",
	);
	const status = await run(["migrate", "status"]);
	t.equal(status.code, 0);
	t.ok(appliedStatus(status.stdout), `migrate status: ${status.stdout}`);

	t.same(
		await run(["seed"]),
		{
			code: 0,
			signal: null,
			stdout: "sample users: 3 inserted, 0 already present\n",
			stderr: "",
		},
		"seed inserts the sample users",
	);
	t.same(
		await run(["seed"]),
		{
			code: 0,
			signal: null,
			stdout: "sample users: 0 inserted, 3 already present\n",
			stderr: "",
		},
		"seed is idempotent",
	);
	const count = await run(["seed", "--count", "5"]);
	t.equal(count.code, 0);
	t.match(count.stdout, /^inserted 5 synthetic users in \d+\.\d s\n$/);
	t.equal(count.stderr, "", "no progress drawn when stderr is not a TTY");

	const server = await box.serve(t, env);
	await checkHttp(t, box, server, userList(8));
	await stopAndCheck(t, box, server);
	t.notOk(
		server.logs().some((entry) => String(entry.msg).includes("embedded")),
		"PostgreSQL, not the embedded database",
	);

	for (const result of outputs)
		t.notOk(hasStackTrace(result.stderr), "no stack trace");
	const everything = [
		...outputs.flatMap((result) => [result.stdout, result.stderr]),
		...server.lines,
		server.stderr(),
	].join("\n");
	t.notMatch(everything, /s3cret/, "the password is never printed");
	t.notOk(
		await exists(join(box.dir, ".sherpany")),
		"no embedded data directory when PostgreSQL is configured",
	);
});

t.test("on the embedded default database", async (t) => {
	const box = await sandbox(t);
	const dataDir = join(box.dir, ".sherpany", "data");
	const inUse = (pid: number): string =>
		`sherpany: the data directory ${dataDir} is in use by another sherpany process (pid ${pid}): stop it, or pass --data-dir (SHERPANY_DATA_DIR) to use another directory\n`;

	// 1. First start on a new data directory: migrated, sample users inserted.
	const first = await box.serve(t);
	t.ok(await exists(join(dataDir, "PG_VERSION")), "made .sherpany/data");
	t.match(
		first.logs(),
		[
			{
				msg: "no database configured: using the embedded PGlite database; set DATABASE_URL (or PGHOST) to use PostgreSQL",
				database: "embedded PGlite database in .sherpany/data",
			},
			{ msg: "migrated the embedded database", applied: ["0001_create_users"] },
			{
				msg: "seeded the new embedded database with the sample users",
				inserted: 3,
			},
			{ msg: "listening", port: first.port },
		],
		"start-up log lines",
	);
	await checkHttp(t, box, first, SAMPLE_USERS);

	// 2. While it holds the directory, every other database command exits 1.
	const secondPort = await freePort();
	t.same(
		await box.run(["serve"], {
			PORT: String(secondPort),
			HOST: "127.0.0.1",
		}),
		{ code: 1, signal: null, stdout: "", stderr: inUse(first.pid) },
		"a second serve exits 1 and names the holder",
	);
	t.same(
		await box.run(["seed"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(first.pid),
		},
		"seed exits 1 and names the holder",
	);
	t.same(
		await box.run(["migrate"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(first.pid),
		},
		"migrate exits 1 and names the holder",
	);
	t.equal(
		(await fetch(`${first.baseUrl}/users`)).status,
		200,
		"the holder is unharmed",
	);
	await stopAndCheck(t, box, first);

	// 3. Stopped: the CLI opens the existing directory.
	const status = await box.run(["migrate", "status"]);
	t.equal(status.code, 0, "migrate status exits 0");
	t.ok(appliedStatus(status.stdout), `migrate status: ${status.stdout}`);
	t.equal(status.stderr, EMBEDDED_NOTICE, "one notice line on stderr");
	t.same(
		await box.run(["migrate"]),
		{
			code: 0,
			signal: null,
			stdout: "the database is up to date\n",
			stderr: EMBEDDED_NOTICE,
		},
		"migrate: already up to date",
	);
	t.same(
		await box.run(["seed"]),
		{
			code: 0,
			signal: null,
			stdout: "sample users: 0 inserted, 3 already present\n",
			stderr: EMBEDDED_NOTICE,
		},
		"seed: the sample users are already there",
	);
	const count = await box.run(["seed", "--count", "5"]);
	t.equal(count.code, 0, "seed --count 5 exits 0");
	t.match(count.stdout, /^inserted 5 synthetic users in \d+\.\d s\n$/);
	t.equal(count.stderr, EMBEDDED_NOTICE);

	// 4. Restart: the data survived, and an existing database is not re-seeded.
	const second = await box.serve(t);
	await checkUsers(t, second, 8, "the users survived the restart");
	t.notOk(
		second
			.logs()
			.some((entry) => /^(seeded|migrated) /.test(String(entry.msg))),
		"an existing database is neither migrated nor seeded again",
	);

	// 5. SIGKILL leaves no stale lock and no damage.
	second.child.kill("SIGKILL");
	t.equal(await second.exited, "SIGKILL");
	const third = await box.serve(t);
	await checkUsers(
		t,
		third,
		8,
		"after SIGKILL a new process opens the directory and the data is intact",
	);
	t.same(
		await box.run(["seed"]),
		{
			code: 1,
			signal: null,
			stdout: "",
			stderr: EMBEDDED_NOTICE + inUse(third.pid),
		},
		"the new holder holds the lock",
	);
	await stopAndCheck(t, box, third);
	t.equal(second.stderr(), "", "nothing on stderr before the SIGKILL");
	t.same(
		(await readdir(box.dir)).sort(),
		[".sherpany", "sherpany"],
		"the data directory is the only thing made beside the binary",
	);
});
