// Start-up benchmark of the built binary (`npm run bench`). Builds nothing:
// run `npm run build` first.
//
// Measures, and prints as a markdown table:
// - the binary's size;
// - cold start (spawn to exit, wall clock) of `dist/sherpany --version` and of
//   `dist/sherpany check-health` against a running server, each as a ratio to
//   `node -e 0` run by the very Node runtime the binary embeds
//   (node_modules/node/bin/node), interleaved in the same run; the target is
//   check-health <= 1.3x;
// - peak RSS (maximum resident set size, from GNU time's `%M`) of the same three;
// - time from spawning `serve` to the first 200 from `/users`, on a new
//   embedded data directory and then on that existing directory.
//
// Every child runs with PATH=/usr/bin:/bin and nothing else in its
// environment (no NODE_OPTIONS), from a temp directory.
//
// Knobs (env): BENCH_ROUNDS (default 30) start-up rounds, BENCH_RSS_ROUNDS
// (default 5), BENCH_SERVE_ROUNDS (default 3) rounds of each /users case.
import { spawn, spawnSync } from "node:child_process";
import {
	copyFileSync,
	existsSync,
	mkdtempSync,
	rmSync,
	statSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST_BINARY = join(ROOT, "dist", "sherpany");
const PINNED_NODE = join(ROOT, "node_modules", "node", "bin", "node");
const GNU_TIME = "/usr/bin/time";
const TARGET_RATIO = 1.3;
const ROUNDS = positiveInt("BENCH_ROUNDS", 30);
const RSS_ROUNDS = positiveInt("BENCH_RSS_ROUNDS", 5);
const SERVE_ROUNDS = positiveInt("BENCH_SERVE_ROUNDS", 3);
const WARMUP_ROUNDS = 3;
const ENV = { PATH: "/usr/bin:/bin" };

for (const [path, hint] of [
	[DIST_BINARY, "run `npm run build` first"],
	[PINNED_NODE, "run `npm install` (the pinned `node` package) first"],
]) {
	if (!existsSync(path)) {
		console.error(`bench: ${path} is missing: ${hint}`);
		process.exit(2);
	}
}

// Both executables run from copies made the same way in a temp dir: a file's
// page-cache history (how it was written) changes its file-backed RSS by up
// to 20 MiB, and the copies also keep node_modules out of reach.
const work = mkdtempSync(join(tmpdir(), "sherpany-bench-"));
const BINARY = join(work, "sherpany");
const NODE = join(work, "node");
copyFileSync(DIST_BINARY, BINARY);
copyFileSync(PINNED_NODE, NODE);
const children = new Set();
const cleanUp = () => {
	for (const child of children) child.kill("SIGKILL");
	rmSync(work, { recursive: true, force: true });
};
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM"])
	process.on(signal, () => process.exit(130));

try {
	await main();
} catch (error) {
	console.error(`bench: ${error instanceof Error ? error.message : error}`);
	process.exitCode = 1;
}

async function main() {
	const binaryVersion = run(BINARY, ["--version"]).stdout.trim();
	const nodeVersion = run(NODE, ["--version"]).stdout.trim();
	if (!binaryVersion.includes(`(node ${nodeVersion.replace(/^v/, "")})`)) {
		throw new Error(
			`${DIST_BINARY} says "${binaryVersion}" but ${PINNED_NODE} is ${nodeVersion}: rebuild with npm run build`,
		);
	}

	// A server for check-health: embedded in-memory database, logs discarded.
	const port = await freePort();
	const server = spawnTracked(BINARY, ["serve"], {
		...ENV,
		SHERPANY_DATA_DIR: "memory://",
		PORT: String(port),
		HOST: "127.0.0.1",
		SHUTDOWN_DELAY_MS: "0",
		LOG_LEVEL: "warn",
	});
	await waitFor(`http://127.0.0.1:${port}/health`, 60_000);

	const cases = [
		{ name: "`node -e 0` (baseline)", file: NODE, args: ["-e", "0"] },
		{ name: "`sherpany --version`", file: BINARY, args: ["--version"] },
		{
			name: "`sherpany check-health`",
			file: BINARY,
			args: ["check-health", "--port", String(port)],
		},
	];
	for (const c of cases) {
		const result = run(c.file, c.args);
		if (result.status !== 0)
			throw new Error(`${c.name} exited ${result.status}: ${result.stderr}`);
	}

	// Interleaved: every round runs each case once, so load drifts hit all alike.
	const times = cases.map(() => []);
	for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
		cases.forEach((c, i) => {
			const started = process.hrtime.bigint();
			const result = run(c.file, c.args);
			const ms = Number(process.hrtime.bigint() - started) / 1e6;
			if (result.status !== 0)
				throw new Error(`${c.name} exited ${result.status} in round ${round}`);
			if (round >= WARMUP_ROUNDS) times[i].push(ms);
		});
	}

	const rss = cases.map(() => []);
	const haveGnuTime = existsSync(GNU_TIME);
	if (haveGnuTime) {
		for (let round = 0; round < RSS_ROUNDS; round++) {
			cases.forEach((c, i) => {
				const result = run(GNU_TIME, ["-f", "%M", c.file, ...c.args]);
				const kb = Number(result.stderr.trim().split("\n").at(-1));
				if (result.status !== 0 || !Number.isFinite(kb))
					throw new Error(`${GNU_TIME} ${c.name}: ${result.stderr}`);
				rss[i].push(kb / 1024);
			});
		}
	}

	server.kill("SIGTERM");
	await exitOf(server);

	const firstUsers = await timeFirstUsers();

	const baseline = median(times[0]);
	const checkHealthRatio = median(times[2]) / baseline;
	const rows = cases.map((c, i) => {
		const ratio = median(times[i]) / baseline;
		const verdict =
			i === 2
				? ` ${ratio <= TARGET_RATIO ? "PASS" : "FAIL"} (target <= ${TARGET_RATIO}x)`
				: "";
		return `| ${c.name} | ${ms(median(times[i]))} | ${ms(percentile(times[i], 0.9))} | ${ratio.toFixed(2)}x${verdict} | ${haveGnuTime ? `${median(rss[i]).toFixed(1)} MiB` : "n/a"} |`;
	});
	const size = statSync(BINARY).size;

	const out = [
		`sherpany start-up benchmark: ${binaryVersion}; ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0].toFixed(2)}; ${ROUNDS} interleaved rounds after ${WARMUP_ROUNDS} warm-up, wall clock from spawn to exit; both executables copied to ${work}`,
		"",
		`Binary size: ${(size / 1e6).toFixed(1)} MB (${size} bytes)`,
		"",
		"| command | median | p90 | vs `node -e 0` | peak RSS |",
		"| --- | --- | --- | --- | --- |",
		...rows,
		"",
		"| `serve`, spawn to first `/users` 200 (embedded) | median | runs |",
		"| --- | --- | --- |",
		`| new data directory (initdb, migrate, seed) | ${ms(median(firstUsers.fresh))} | ${firstUsers.fresh.map(ms).join(", ")} |`,
		`| existing data directory | ${ms(median(firstUsers.existing))} | ${firstUsers.existing.map(ms).join(", ")} |`,
		"",
		haveGnuTime
			? `Peak RSS: median of ${RSS_ROUNDS} runs of \`${GNU_TIME} -f %M\` (maximum resident set size).`
			: `Peak RSS: not measured, ${GNU_TIME} is missing (apt-get install -y time).`,
		`check-health: ${checkHealthRatio.toFixed(2)}x the runtime's bare start-up: ${checkHealthRatio <= TARGET_RATIO ? "PASS" : "FAIL"} against the ${TARGET_RATIO}x target.`,
	];
	console.log(out.join("\n"));
}

/** Spawn-to-first-/users on a new data dir, then on the same dir again, SERVE_ROUNDS times each. */
async function timeFirstUsers() {
	const fresh = [];
	const existing = [];
	for (let round = 0; round < SERVE_ROUNDS; round++) {
		const dataDir = join(work, `data-${round}`);
		fresh.push(await serveUntilUsers(dataDir));
		existing.push(await serveUntilUsers(dataDir));
		rmSync(dataDir, { recursive: true, force: true });
	}
	return { fresh, existing };
}

async function serveUntilUsers(dataDir) {
	const port = await freePort();
	const started = process.hrtime.bigint();
	const child = spawnTracked(BINARY, ["serve"], {
		...ENV,
		SHERPANY_DATA_DIR: dataDir,
		PORT: String(port),
		HOST: "127.0.0.1",
		SHUTDOWN_DELAY_MS: "0",
		LOG_LEVEL: "warn",
	});
	await waitFor(`http://127.0.0.1:${port}/users`, 120_000, child);
	const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
	child.kill("SIGTERM");
	const code = await exitOf(child);
	if (code !== 0) throw new Error(`serve on ${dataDir} exited ${code}`);
	return elapsed;
}

function run(file, args) {
	return spawnSync(file, args, {
		cwd: work,
		env: ENV,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
		timeout: 60_000,
	});
}

function spawnTracked(file, args, env) {
	const child = spawn(file, args, {
		cwd: work,
		env,
		stdio: ["ignore", "ignore", "pipe"],
	});
	let stderr = "";
	child.stderr.on("data", (chunk) => {
		stderr += chunk;
	});
	child.stderrText = () => stderr;
	children.add(child);
	child.once("exit", () => children.delete(child));
	return child;
}

function exitOf(child) {
	if (child.exitCode !== null || child.signalCode !== null)
		return Promise.resolve(child.exitCode ?? child.signalCode);
	return new Promise((resolve) =>
		child.once("exit", (code, signal) => resolve(code ?? signal)),
	);
}

/** Polls `url` every 10 ms until it answers 200. */
async function waitFor(url, timeoutMs, child) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (child && (child.exitCode !== null || child.signalCode !== null))
			throw new Error(
				`serve exited ${child.exitCode ?? child.signalCode}: ${child.stderrText()}`,
			);
		try {
			const response = await fetch(url);
			await response.arrayBuffer();
			if (response.status === 200) return;
		} catch {
			// Not listening yet.
		}
		if (Date.now() > deadline) throw new Error(`${url}: no 200 in time`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

function freePort() {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

function median(values) {
	return percentile(values, 0.5);
}

function percentile(values, p) {
	const sorted = [...values].sort((a, b) => a - b);
	const index = (sorted.length - 1) * p;
	const low = Math.floor(index);
	const high = Math.ceil(index);
	return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
}

function ms(value) {
	return value >= 1000
		? `${(value / 1000).toFixed(2)} s`
		: `${value.toFixed(1)} ms`;
}

function positiveInt(name, fallback) {
	const value = process.env[name];
	if (value === undefined || value === "") return fallback;
	const parsed = Number(value);
	if (!Number.isInteger(parsed) || parsed < 1) {
		console.error(`bench: ${name} must be a positive integer, not ${value}`);
		process.exit(2);
	}
	return parsed;
}
