// Start-up benchmark of the built binary (`npm run bench`). Builds nothing:
// run `npm run build` first.
//
// Measures, and prints as a markdown table:
// - the binary's size;
// - cold start (spawn to exit, wall clock) of `dist/sherpany --version` and of
//   `dist/sherpany check-health` against a running server, each beside
//   `node -e 0` run by the very Node runtime the binary embeds
//   (node_modules/node/bin/node), interleaved in the same run: as a ratio and
//   as the absolute overhead in ms, with, for check-health, its floor: the
//   same runtime running bench/net-probe.cjs, a bare node:net GET of the
//   server's /health. That is repeated over several runs, and
//   each figure is the median of the runs' medians with its spread (lowest
//   to highest run), because one run on a shared machine says little. The
//   target is check-health <= 1.2x (median of the runs); missing it makes the
//   bench exit 1;
// - CPU time (user + system) of the same commands, per command, from bash's
//   `times` over a batch of ROUNDS in each run: on a shared machine the wall
//   clock mostly measures the neighbours, CPU time much less so;
// - peak RSS (maximum resident set size, from GNU time's `%M`) of the same four;
// - time from spawning `serve` to the first 200 from `/users`, on a new
//   embedded data directory and then on that existing directory; the target
//   is the new directory's median <= 1.3x the existing one's.
//
// With BENCH_STARTUP_JSON set, it also writes every figure there as JSON
// (bench/run.mjs puts them into bench/results.json).
//
// Every child runs with PATH=/usr/bin:/bin and nothing else in its
// environment (no NODE_OPTIONS), from a temp directory.
//
// Knobs (env): BENCH_RUNS (default 5) runs of BENCH_ROUNDS (default 30)
// start-up rounds each, BENCH_RSS_ROUNDS (default 5), BENCH_SERVE_ROUNDS
// (default 3) rounds of each /users case.
//
// Exit codes: 0 targets met, 1 a target missed (or the bench failed), 2 usage.
import { spawn, spawnSync } from "node:child_process";
import {
	copyFileSync,
	existsSync,
	mkdtempSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST_BINARY = join(ROOT, "dist", "sherpany");
const PINNED_NODE = join(ROOT, "node_modules", "node", "bin", "node");
const NET_PROBE = join(ROOT, "bench", "net-probe.cjs");
const GNU_TIME = "/usr/bin/time";
const TARGET_RATIO = 1.2;
const EMBEDDED_START_TARGET = 1.3;
const RUNS = positiveInt("BENCH_RUNS", 5);
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
	const met = await main();
	// A missed target is a failure, as a test's would be.
	if (!met) process.exitCode = 1;
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
		{
			name: "bare `node:net` GET of `/health` (the probe's floor)",
			file: NODE,
			args: [NET_PROBE, String(port)],
		},
	];
	for (const c of cases) {
		const result = run(c.file, c.args);
		if (result.status !== 0)
			throw new Error(`${c.name} exited ${result.status}: ${result.stderr}`);
	}

	// Each run: interleaved rounds, so load drifts hit every case alike; the
	// run's figure for a case is its median over the rounds.
	const runs = [];
	for (let runIndex = 0; runIndex < RUNS; runIndex++) {
		const times = cases.map(() => []);
		for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
			cases.forEach((c, i) => {
				const started = process.hrtime.bigint();
				const result = run(c.file, c.args);
				const ms = Number(process.hrtime.bigint() - started) / 1e6;
				if (result.status !== 0)
					throw new Error(
						`${c.name} exited ${result.status} in run ${runIndex + 1}, round ${round}`,
					);
				if (round >= WARMUP_ROUNDS) times[i].push(ms);
			});
		}
		const medians = times.map(median);
		const cpu = cases.map((c) => cpuPerRun(c.file, c.args, ROUNDS));
		runs.push({
			medians,
			ratios: medians.map((value) => value / medians[0]),
			overheads: medians.map((value) => value - medians[0]),
			cpu,
			cpuOverheads: cpu.map((value) => value - cpu[0]),
		});
		const ch = runs.at(-1);
		console.error(
			`bench: run ${runIndex + 1}/${RUNS}: node -e 0 ${ms(ch.medians[0])}, check-health ${ms(ch.medians[2])} (${ch.ratios[2].toFixed(2)}x, ${plusMs(ch.overheads[2])}); CPU ${ms(ch.cpu[0])} and ${ms(ch.cpu[2])}`,
		);
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

	// Across runs: the median of the runs' figures, and the lowest to highest.
	const across = (pick, i, format) => {
		const values = runs.map((r) => pick(r)[i]);
		return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
	};
	const checkHealthRatio = median(runs.map((r) => r.ratios[2]));
	const met = checkHealthRatio <= TARGET_RATIO;
	const embeddedStartRatio =
		median(firstUsers.fresh) / median(firstUsers.existing);
	const embeddedStartMet = embeddedStartRatio <= EMBEDDED_START_TARGET;
	const ratio = (value) => `${value.toFixed(2)}x`;

	const rows = cases.map((c, i) => {
		const verdict =
			i === 2 ? ` ${met ? "PASS" : "FAIL"} (target <= ${TARGET_RATIO}x)` : "";
		const overhead = i === 0 ? "—" : across((r) => r.overheads, i, plusMs);
		const cpuOverhead =
			i === 0 ? "—" : across((r) => r.cpuOverheads, i, plusMs);
		return `| ${c.name} | ${across((r) => r.medians, i, ms)} | ${overhead} | ${i === 0 ? "1.00x" : across((r) => r.ratios, i, ratio)}${verdict} | ${across((r) => r.cpu, i, ms)} | ${cpuOverhead} | ${haveGnuTime ? `${median(rss[i]).toFixed(1)} MiB` : "n/a"} |`;
	});
	const size = statSync(BINARY).size;

	const out = [
		`sherpany start-up benchmark: ${binaryVersion}; ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0].toFixed(2)}; ${RUNS} runs of ${ROUNDS} interleaved rounds (after ${WARMUP_ROUNDS} warm-up each), wall clock from spawn to exit; both executables copied to ${work}`,
		"",
		`Binary size: ${(size / 1e6).toFixed(1)} MB (${size} bytes)`,
		"",
		`Each figure: median of the ${RUNS} runs' medians (lowest–highest run).`,
		"",
		"| command | median | overhead | vs `node -e 0` | CPU | CPU overhead | peak RSS |",
		"| --- | --- | --- | --- | --- | --- | --- |",
		...rows,
		"",
		"| `serve`, spawn to first `/users` 200 (embedded) | median | runs |",
		"| --- | --- | --- |",
		`| new data directory (unpacks the shipped one, or initdb without it; migrate, seed) | ${ms(median(firstUsers.fresh))} | ${firstUsers.fresh.map(ms).join(", ")} |`,
		`| existing data directory | ${ms(median(firstUsers.existing))} | ${firstUsers.existing.map(ms).join(", ")} |`,
		"",
		haveGnuTime
			? `Peak RSS: median of ${RSS_ROUNDS} runs of \`${GNU_TIME} -f %M\` (maximum resident set size).`
			: `Peak RSS: not measured, ${GNU_TIME} is missing (apt-get install -y time).`,
		`check-health: ${checkHealthRatio.toFixed(2)}x the runtime's bare start-up (median of ${RUNS} runs): ${met ? "PASS" : "FAIL"} against the ${TARGET_RATIO}x target.`,
		`embedded serve: a new data directory ${embeddedStartRatio.toFixed(2)}x an existing one's time to the first /users 200: ${embeddedStartMet ? "PASS" : "FAIL"} against the ${EMBEDDED_START_TARGET}x target.`,
	];
	console.log(out.join("\n"));
	if (process.env.BENCH_STARTUP_JSON)
		writeFileSync(
			process.env.BENCH_STARTUP_JSON,
			JSON.stringify({
				binaryVersion,
				binaryBytes: size,
				cases: cases.map((c, i) => ({
					name: c.name,
					args: c.args,
					runs: runs.map((r) => ({
						medianMs: r.medians[i],
						ratio: r.ratios[i],
						cpuMs: r.cpu[i],
					})),
					peakRssMiB: haveGnuTime ? rss[i] : undefined,
				})),
				checkHealth: { ratio: checkHealthRatio, target: TARGET_RATIO, met },
				embeddedStart: {
					freshMs: firstUsers.fresh,
					existingMs: firstUsers.existing,
					ratio: embeddedStartRatio,
					target: EMBEDDED_START_TARGET,
					met: embeddedStartMet,
				},
			}),
		);
	return met && embeddedStartMet;
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

/**
 * Mean CPU time (user + system, ms) of `file args` over `rounds` runs: bash's
 * `times` reports its children's totals to the millisecond, where GNU time
 * rounds each run to 10 ms.
 */
function cpuPerRun(file, args, rounds) {
	const result = spawnSync(
		"bash",
		[
			"-c",
			`for ((i = 0; i < ${rounds}; i++)); do "$0" "$@" </dev/null >/dev/null 2>&1 || exit 1; done; times`,
			file,
			...args,
		],
		{ cwd: work, env: ENV, encoding: "utf8", timeout: 600_000 },
	);
	const children = result.stdout.trim().split("\n").at(-1) ?? "";
	const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
		([, m, s]) => Number(m) * 60 + Number(s),
	);
	if (result.status !== 0 || seconds.length !== 2)
		throw new Error(`CPU time of ${file} ${args.join(" ")}: ${result.stderr}`);
	return ((seconds[0] + seconds[1]) * 1000) / rounds;
}

/** A signed difference in ms: `+12.3 ms`, `−4.0 ms`. */
function plusMs(value) {
	return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(1)} ms`;
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
