// `npm run bench`: every performance scenario of README.md end to end. Starts its own
// PostgreSQL (the test harness's helper), builds dist/sherpany if it is
// missing, needs wrk (`apt-get install -y wrk`), psql and curl; prints a
// markdown table and writes bench/results.json; then runs the start-up
// bench (bench/startup.mjs: check-health, embedded start) and adds its
// figures to bench/results.json. Exits 1 when a target is missed.
//
// Knobs (env): BENCH_QUICK=1 for a short iteration run (fewer rounds,
// shorter loads, 100,000 users instead of 1,000,000); BENCH_ROUNDS_HTTP,
// BENCH_SECONDS, BENCH_USERS override single figures; BENCH_ONLY=http|data.
import { spawnSync } from "node:child_process";
import {
	existsSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { requirePsql, runDataScenarios } from "./data-scenarios.mjs";
import { runHttpScenarios } from "./http-scenarios.mjs";
import { startBenchPostgres } from "./lib/postgres.mjs";
import { createReport, TABLE_HEAD } from "./lib/report.mjs";
import { BINARY, ensureBuilt, NODE, ROOT } from "./lib/sherpany.mjs";
import { requireWrk } from "./lib/wrk.mjs";

const quick = process.env.BENCH_QUICK === "1";
const int = (name, fallback) => Number(process.env[name] ?? fallback);
const config = {
	rounds: int("BENCH_ROUNDS_HTTP", quick ? 1 : 3),
	seconds: int("BENCH_SECONDS", quick ? 2 : 5),
	users: int("BENCH_USERS", quick ? 100_000 : 1_000_000),
	exportRounds: quick ? 1 : 3,
	seedRounds: quick ? 1 : 3,
	startRounds: quick ? 5 : 15,
};
const only = process.env.BENCH_ONLY;
const ENV = { PATH: "/usr/bin:/bin" };

requireWrk();
requirePsql();
ensureBuilt();
const version = (file) =>
	spawnSync(file, ["--version"], { encoding: "utf8" }).stdout.trim();
const postgres = await startBenchPostgres();
const report = createReport();
const results = {};
try {
	const args = { cluster: postgres.cluster, env: ENV, config, report, results };
	if (only !== "data") await runHttpScenarios(args);
	if (only !== "http") await runDataScenarios(args);
} finally {
	await postgres.stop();
}

const machine = {
	cpus: cpus().length,
	cpu: cpus()[0]?.model,
	memoryGiB: Math.round(totalmem() / 2 ** 30),
	loadAverageAtEnd: loadavg(),
};
const versions = {
	sherpany: version(BINARY),
	node: version(NODE),
	postgres: postgres.cluster.server.label,
	wrk: spawnSync("wrk", ["--version"], { encoding: "utf8" })
		.stdout.split("\n")[0]
		.trim(),
};
const out = [
	`sherpany bench: ${versions.sherpany}; ${versions.postgres}; ${machine.cpus} CPU, load ${machine.loadAverageAtEnd[0].toFixed(1)} at the end; ${config.rounds} interleaved rounds of ${config.seconds} s wrk -t2 per figure${quick ? " (BENCH_QUICK)" : ""}`,
	"",
	...TABLE_HEAD,
	...report.rows,
];
console.log(out.join("\n"));
const writeResults = (startup) =>
	writeFileSync(
		join(ROOT, "bench", "results.json"),
		`${JSON.stringify({ date: new Date().toISOString(), quick, machine, versions, config, figures: report.figures, raw: results, startup }, null, "\t")}\n`,
	);
// Written now, so a start-up bench that fails leaves these figures behind.
writeResults(undefined);
console.log(
	"\nwrote bench/results.json; now the start-up bench (bench/startup.mjs):\n",
);
let startupStatus = 0;
if (!only) {
	// The start-up bench's figures join the rest in results.json.
	const scratch = mkdtempSync(join(tmpdir(), "sherpany-bench-startup-"));
	try {
		const json = join(scratch, "startup.json");
		startupStatus =
			spawnSync(NODE, [join(ROOT, "bench", "startup.mjs")], {
				stdio: "inherit",
				env: { ...process.env, BENCH_STARTUP_JSON: json },
			}).status ?? 1;
		if (existsSync(json)) {
			writeResults(JSON.parse(readFileSync(json, "utf8")));
			console.log("\nadded the start-up figures to bench/results.json");
		}
	} finally {
		rmSync(scratch, { recursive: true, force: true });
	}
}
process.exitCode = report.met && startupStatus === 0 ? 0 : 1;
