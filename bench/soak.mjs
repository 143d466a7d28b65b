#!/usr/bin/env node
/**
 * Soak test (not in CI): sustained load on `/users` and NDJSON exports for
 * SOAK_SECONDS (default 300), sampling the server's resident memory
 * (/proc/PID/status) and event-loop lag (prom-client's
 * nodejs_eventloop_lag_p99_seconds on /metrics) every 5 s. Reports growth
 * after a warm-up (target: under 10 %), every error, and with
 * SOAK_HEAP_SNAPSHOTS=1 writes a heap snapshot after the warm-up and at the
 * end (SIGUSR2, Node's --heapsnapshot-signal) to compare in Chrome DevTools:
 * a leak shows as retained objects that grow between the two; a heap that
 * is settling does not. `node bench/heap-diff.mjs A B` compares two of them
 * by constructor. Each sample also records the V8 heap in use and external
 * memory (prom-client's nodejs_heap_size_used_bytes and
 * nodejs_external_memory_bytes): RSS that grows while they stay flat is the
 * allocator keeping freed pages, not a JavaScript leak.
 *
 *   DATABASE_URL=postgres://… node bench/soak.mjs      # a migrated, seeded database
 *   SOAK_POSTGRES=1 node bench/soak.mjs                # a throwaway PostgreSQL, seeded here
 *   node bench/soak.mjs                                # the embedded database, in memory
 *
 * Environment: SOAK_SECONDS, SOAK_WARMUP_SECONDS (60), SOAK_CLIENTS (8),
 * SOAK_ROWS (rows seeded with SOAK_POSTGRES=1, 10000), SOAK_SAMPLES (a file
 * to write every sample to as JSON),
 * SHERPANY_BIN (default bin/sherpany; dist/sherpany for the executable).
 * Linux only (reads /proc). Exits 1 if growth is 10 % or more or any
 * request failed.
 *
 * SOAK_SCENARIO=hostile runs bench/soak-hostile.mjs instead: the built image
 * under stalled, slow and idle clients, bounded by its memory limit.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

if (process.env.SOAK_SCENARIO === "hostile") {
	await import("./soak-hostile.mjs");
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const warmup = Number(process.env.SOAK_WARMUP_SECONDS ?? 60);
const clients = Number(process.env.SOAK_CLIENTS ?? 8);
const bin = process.env.SHERPANY_BIN ?? join(root, "bin/sherpany");
const snapshots = process.env.SOAK_HEAP_SNAPSHOTS === "1";

/** A free TCP port on 127.0.0.1. */
async function freePort() {
	const server = createServer();
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address();
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** One GET; resolves with the status and body length, or the error code. */
function get(url, agent, headers = {}) {
	return new Promise((resolve) => {
		const req = request(url, { agent, headers }, (response) => {
			let bytes = 0;
			let body = "";
			response.on("data", (chunk) => {
				bytes += chunk.length;
				if (body.length < 1_000_000) body += chunk;
			});
			response.on("end", () =>
				resolve({ status: response.statusCode, bytes, body }),
			);
			response.on("error", (error) =>
				resolve({ error: error.code ?? error.message }),
			);
		});
		req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
		req.on("error", (error) => resolve({ error: error.code ?? error.message }));
		req.end();
	});
}

function rssMb(pid) {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// With SOAK_POSTGRES=1: the bench's throwaway PostgreSQL (the test
// harness's helper), one database migrated and seeded by sherpany itself.
let postgres;
if (process.env.SOAK_POSTGRES === "1" && !process.env.DATABASE_URL) {
	const { startBenchPostgres } = await import("./lib/postgres.mjs");
	postgres = await startBenchPostgres();
	const url = await postgres.cluster.createDatabase();
	for (const args of [
		["migrate"],
		["seed", "--count", process.env.SOAK_ROWS ?? "10000"],
	]) {
		const run = spawnSync(bin, args, {
			env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "warn" },
			stdio: "inherit",
		});
		if (run.status !== 0) {
			await postgres.stop();
			throw new Error(`sherpany ${args.join(" ")} exited ${run.status}`);
		}
	}
	process.env.DATABASE_URL = url;
}

const port = await freePort();
const adminPort = await freePort();
const child = spawn(bin, ["serve"], {
	env: {
		...process.env,
		PORT: String(port),
		ADMIN_PORT: String(adminPort),
		HOST: "127.0.0.1",
		LOG_LEVEL: "warn",
		SHERPANY_DATA_DIR: process.env.DATABASE_URL ? undefined : "memory://",
		NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --heapsnapshot-signal=SIGUSR2`,
	},
	cwd: process.cwd(),
	stdio: ["ignore", "inherit", "inherit"],
});
const base = `http://127.0.0.1:${port}`;
for (let waited = 0; ; waited += 200) {
	const ready = await get(`http://127.0.0.1:${adminPort}/ready`);
	if (ready.status === 200) break;
	if (waited > 60_000 || child.exitCode !== null) {
		console.error("serve did not become ready in 60 s");
		child.kill("SIGKILL");
		process.exit(1);
	}
	await sleep(200);
}

const errors = new Map();
let requests = 0;
let running = true;
const agent = new Agent({ keepAlive: true, maxSockets: clients });
const loop = async (index) => {
	while (running) {
		// One client in four exports the whole table as NDJSON.
		const ndjson = index % 4 === 0;
		const answer = await get(
			`${base}/users${ndjson ? "" : "?limit=100"}`,
			agent,
			ndjson ? { Accept: "application/x-ndjson" } : {},
		);
		requests += 1;
		if (answer.status !== 200) {
			const key = answer.error ?? `HTTP ${answer.status}`;
			errors.set(key, (errors.get(key) ?? 0) + 1);
		}
	}
};
const loops = Array.from({ length: clients }, (_, index) => loop(index));

const samples = [];
const began = Date.now();
/** Event-loop lag p99 and V8 memory, from the server's own /metrics. */
const runtime = async () => {
	const body = (await get(`http://127.0.0.1:${adminPort}/metrics`)).body ?? "";
	const gauge = (name) =>
		Number(new RegExp(`^${name} (\\S+)`, "m").exec(body)?.[1] ?? NaN);
	return {
		lagMs: gauge("nodejs_eventloop_lag_p99_seconds") * 1000,
		heapUsedMb: gauge("nodejs_heap_size_used_bytes") / 2 ** 20,
		heapTotalMb: gauge("nodejs_heap_size_total_bytes") / 2 ** 20,
		externalMb: gauge("nodejs_external_memory_bytes") / 2 ** 20,
	};
};
let warmedUp = false;
let midway = false;
while (Date.now() - began < seconds * 1000) {
	await sleep(5000);
	const t = Math.round((Date.now() - began) / 1000);
	const sample = {
		t,
		rssMb: rssMb(child.pid),
		...(await runtime()),
		requests,
	};
	samples.push(sample);
	console.log(
		`${String(t).padStart(4)} s  rss ${sample.rssMb.toFixed(1)} MB  heap used ${sample.heapUsedMb.toFixed(1)} of ${sample.heapTotalMb.toFixed(1)} MB  external ${sample.externalMb.toFixed(1)} MB  lag p99 ${sample.lagMs.toFixed(1)} ms  requests ${requests}`,
	);
	// Snapshots after the warm-up and half-way through the rest: with the one
	// at the end, three points to tell steady growth from a plateau.
	if (!warmedUp && t >= warmup) {
		warmedUp = true;
		if (snapshots) child.kill("SIGUSR2");
	} else if (!midway && t >= warmup + (seconds - warmup) / 2) {
		midway = true;
		if (snapshots) child.kill("SIGUSR2");
	}
}
running = false;
await Promise.all(loops);
agent.destroy();
if (snapshots) {
	child.kill("SIGUSR2");
	await sleep(5000);
}
await sleep(5000);
const idle = rssMb(child.pid);
const idleRuntime = await runtime();
child.kill("SIGTERM");
await new Promise((resolve) =>
	child.exitCode === null ? child.once("exit", resolve) : resolve(),
);
await postgres?.stop();
if (process.env.SOAK_SAMPLES)
	writeFileSync(process.env.SOAK_SAMPLES, `${JSON.stringify(samples)}\n`);

const after = samples.filter((sample) => sample.t >= warmup);
const first = after[0];
const last = after.at(-1);
if (!first || !last) {
	console.error(`no samples after the ${warmup} s warm-up: raise SOAK_SECONDS`);
	process.exit(1);
}
const growth = (last.rssMb - first.rssMb) / first.rssMb;
const maxLag = Math.max(...samples.map((sample) => sample.lagMs));
const heapGrowth = (last.heapUsedMb - first.heapUsedMb) / first.heapUsedMb;
console.log(
	JSON.stringify(
		{
			seconds,
			clients,
			requests,
			rssAfterWarmupMb: +first.rssMb.toFixed(1),
			rssEndMb: +last.rssMb.toFixed(1),
			rssIdleAfter5sMb: +idle.toFixed(1),
			growthPercent: +(growth * 100).toFixed(1),
			heapUsedAfterWarmupMb: +first.heapUsedMb.toFixed(1),
			heapUsedEndMb: +last.heapUsedMb.toFixed(1),
			heapUsedIdleMb: +idleRuntime.heapUsedMb.toFixed(1),
			heapUsedGrowthPercent: +(heapGrowth * 100).toFixed(1),
			externalEndMb: +last.externalMb.toFixed(1),
			maxLagP99Ms: +maxLag.toFixed(1),
			errors: Object.fromEntries(errors),
			heapSnapshots: snapshots
				? `Heap.*.heapsnapshot in ${process.cwd()}`
				: "off",
		},
		null,
		2,
	),
);
process.exit(growth < 0.1 && errors.size === 0 ? 0 : 1);
