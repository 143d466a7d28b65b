// Scenarios 1, 2 and 8: /users (3 and 100 rows; 16 and 64 connections),
// /health and /ready, and memory idle and under load, each server against
// the baselines, interleaved round by round. Besides req/s and latency,
// each run records the server's CPU time per request (from /proc).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	cpuSecondsOf,
	freePort,
	memoryOf,
	startProcess,
	waitForOk,
} from "./lib/processes.mjs";
import { BINARY, NODE, ROOT, timed } from "./lib/sherpany.mjs";
import { median, ratios, spread } from "./lib/stats.mjs";
import { runWrk } from "./lib/wrk.mjs";

const rps = (value) => `${Math.round(value)}`;
const ms = (value) => `${value.toFixed(2)} ms`;
const mib = (value) => `${value.toFixed(0)} MiB`;
const x = (value) => value.toFixed(2);
const us = (value) => `${value.toFixed(0)} µs`;

/** Starts the floor, the two Koa baselines and sherpany at two log levels, on `databaseUrl`. */
async function startServers(databaseUrl, env) {
	const servers = [
		{
			key: "floor",
			name: "bare node:http + pg (floor)",
			file: NODE,
			args: [join(ROOT, "bench", "floor.mjs")],
		},
		{
			key: "koa",
			name: "minimal Koa + @koa/router",
			file: NODE,
			args: [join(ROOT, "bench", "koa-app.mjs")],
		},
		{
			key: "koaPostgresJson",
			name: "minimal Koa, JSON built by PostgreSQL",
			file: NODE,
			args: [join(ROOT, "bench", "koa-app.mjs")],
			extraEnv: { KOA_BODY: "postgres" },
		},
		{
			key: "info",
			name: "sherpany serve, LOG_LEVEL=info",
			file: BINARY,
			args: ["serve"],
			log: "info",
		},
		{
			key: "silent",
			name: "sherpany serve, LOG_LEVEL=silent",
			file: BINARY,
			args: ["serve"],
			log: "silent",
		},
	];
	for (const server of servers) {
		server.port = await freePort();
		server.proc = startProcess(server.file, server.args, {
			...env,
			DATABASE_URL: databaseUrl,
			PORT: String(server.port),
			HOST: "127.0.0.1",
			SHUTDOWN_DELAY_MS: "0",
			LOG_LEVEL: server.log ?? "silent",
			...server.extraEnv,
		});
		server.url = `http://127.0.0.1:${server.port}`;
	}
	for (const server of servers)
		await waitForOk(`${server.url}/users`, 60_000, server.proc);
	return servers;
}

/**
 * Runs `wrk` on each server in turn for `rounds` rounds; figures by server
 * key, each with `cpuUs`: the server's CPU time per request answered.
 */
async function interleave(servers, path, options, rounds) {
	const byKey = Object.fromEntries(servers.map((s) => [s.key, []]));
	for (let round = 0; round < rounds; round++) {
		for (const server of servers) {
			const cpuBefore = cpuSecondsOf(server.proc.pid);
			const result = await runWrk(`${server.url}${path}`, options);
			result.cpuUs =
				((cpuSecondsOf(server.proc.pid) - cpuBefore) * 1e6) / result.requests;
			if (result.non2xx > 0)
				throw new Error(
					`${server.name} ${path}: ${result.non2xx} non-2xx answers`,
				);
			byKey[server.key].push(result);
		}
	}
	return byKey;
}

/**
 * One server's /users figures, against the minimal Koa app's of the same
 * rounds: req/s (also against the floor), p99 and CPU time per request.
 * sherpany at LOG_LEVEL=info, as shipped, has the targets; the rest are
 * figures to read it by.
 */
function reportUsers(report, figures, s, label) {
	const of = (key, field) => figures[key].map((f) => f[field]);
	const vs = (field) => ratios(of(s.key, field), of("koa", field));
	const floor = ratios(of(s.key, "rps"), of("floor", "rps"));
	const shipped = s.key === "info";
	if (s.key === "koa") {
		report.add({
			scenario: `1. /users ${label}: ${s.name} req/s vs the floor (p99 ${spread(of("koa", "p99"), ms)}; CPU per request ${spread(of("koa", "cpuUs"), us)})`,
			measured: spread(of("koa", "rps"), rps),
			ratio: median(floor),
			spread: spread(floor, x),
		});
		return;
	}
	const r = vs("rps");
	report.add({
		scenario: `1. /users ${label}: ${s.name} req/s vs minimal Koa (${spread(floor, x)}× the floor)`,
		measured: spread(of(s.key, "rps"), rps),
		ratio: median(r),
		spread: spread(r, x),
		target: shipped ? { min: 0.85 } : undefined,
	});
	if (s.key === "floor") return;
	const cpu = vs("cpuUs");
	report.add({
		scenario: `1. /users ${label}: ${s.name} CPU per request vs minimal Koa`,
		measured: spread(of(s.key, "cpuUs"), us),
		ratio: median(cpu),
		spread: spread(cpu, x),
		target: shipped ? { max: 1.15 } : undefined,
	});
	if (s.key === "koaPostgresJson") return;
	const p99 = vs("p99");
	report.add({
		scenario: `1. /users ${label}: ${s.name} p99 vs minimal Koa`,
		measured: spread(of(s.key, "p99"), ms),
		ratio: median(p99),
		spread: spread(p99, x),
		target: shipped ? { max: 1.3 } : undefined,
	});
}

/** Scenarios 1, 2 and 8 on PostgreSQL at `cluster`; adds rows to `report`. */
export async function runHttpScenarios({
	cluster,
	env,
	config,
	report,
	results,
}) {
	const memory = {};
	for (const rows of [3, 100]) {
		const url = await cluster.createDatabase();
		timed(BINARY, ["migrate"], { ...env, DATABASE_URL: url });
		await cluster.query(
			url,
			`insert into users (name, email) select 'User ' || n, 'user-' || n || '@example.com' from generate_series(1, ${rows}) n`,
		);
		const servers = await startServers(url, env);
		try {
			// Warm up each (JIT, pool connections, prepared statements).
			await interleave(servers, "/users", { connections: 16, seconds: 1 }, 1);
			if (rows === 3)
				for (const s of servers)
					memory[s.key] = { idle: memoryOf(s.proc.pid).rss };
			for (const connections of [16, 64]) {
				const figures = await interleave(
					servers,
					"/users",
					{ connections, seconds: config.seconds },
					config.rounds,
				);
				results[`users_${rows}rows_c${connections}`] = figures;
				for (const s of servers)
					reportUsers(report, figures, s, `${rows} rows, c${connections}`);
			}
			if (rows === 3) {
				for (const s of servers)
					memory[s.key].loaded = memoryOf(s.proc.pid).rss;
				const probes = servers.filter(
					(s) => s.key !== "floor" && s.key !== "koaPostgresJson",
				);
				const health = await interleave(
					probes,
					"/health",
					{ connections: 16, seconds: config.seconds },
					config.rounds,
				);
				results.health_c16 = health;
				// Measured, with no target: probes call it every few seconds.
				for (const s of probes.filter((p) => p.key !== "koa")) {
					const r = ratios(
						health[s.key].map((f) => f.rps),
						health.koa.map((f) => f.rps),
					);
					report.add({
						scenario: `2. /health c16: ${s.name} req/s vs minimal Koa (CPU per request ${spread(
							health[s.key].map((f) => f.cpuUs),
							us,
						)})`,
						measured: spread(
							health[s.key].map((f) => f.rps),
							rps,
						),
						ratio: median(r),
						spread: spread(r, x),
					});
				}
				const sherpanyOnly = servers.filter(
					(s) => s.key === "info" || s.key === "silent",
				);
				const ready = await interleave(
					sherpanyOnly,
					"/ready",
					{ connections: 16, seconds: config.seconds },
					config.rounds,
				);
				results.ready_c16 = ready;
				for (const s of sherpanyOnly)
					report.add({
						scenario: `2. /ready c16: ${s.name} req/s (checks the database and the migrations)`,
						measured: spread(
							ready[s.key].map((f) => f.rps),
							rps,
						),
					});
			}
		} finally {
			for (const s of servers) await s.proc.stop();
		}
	}
	results.memory_postgres = memory;
	for (const key of ["info", "silent"]) {
		report.add({
			scenario: `8. RSS on PostgreSQL, ${key}: idle, then after /users load (floor: ${mib(memory.floor.idle)}, then ${mib(memory.floor.loaded)})`,
			measured: `${mib(memory[key].idle)}, then ${mib(memory[key].loaded)}`,
			ratio: memory[key].loaded / memory.floor.loaded,
			target: { max: 2 },
		});
	}
	// The embedded database as a first `npm start` or `dist/sherpany serve`
	// runs it (a new directory on disk), and in memory.
	const dataDir = mkdtempSync(join(tmpdir(), "sherpany-bench-"));
	try {
		for (const [where, directory, key] of [
			["on disk", join(dataDir, "data"), "memory_embedded_on_disk"],
			["in memory", "memory://", "memory_embedded"],
		])
			await embeddedMemory({
				env,
				config,
				report,
				results,
				floorLoaded: memory.floor.loaded,
				where,
				directory,
				key,
			});
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
}

/** Scenario 8 on the embedded database in `directory`: RSS idle and under /users load, as `results[key]`. */
async function embeddedMemory({
	env,
	config,
	report,
	results,
	floorLoaded,
	where,
	directory,
	key,
}) {
	const port = await freePort();
	const proc = startProcess(BINARY, ["serve"], {
		...env,
		SHERPANY_DATA_DIR: directory,
		PORT: String(port),
		HOST: "127.0.0.1",
		SHUTDOWN_DELAY_MS: "0",
		LOG_LEVEL: "silent",
	});
	try {
		const url = `http://127.0.0.1:${port}`;
		await waitForOk(`${url}/users`, 120_000, proc);
		const idle = memoryOf(proc.pid).rss;
		const load = [];
		for (let round = 0; round < config.rounds; round++)
			load.push(
				await runWrk(`${url}/users`, {
					connections: 16,
					seconds: config.seconds,
				}),
			);
		const loaded = memoryOf(proc.pid).rss;
		results[key] = { idle, loaded, load };
		report.add({
			scenario: `8. RSS on the embedded database (${where}), silent: idle, then after /users c16 load (${spread(
				load.map((f) => f.rps),
				rps,
			)} req/s)`,
			measured: `${mib(idle)}, then ${mib(loaded)}`,
			// Reported, not a target: PGlite's WebAssembly memory, for development.
			ratio: loaded / floorLoaded,
		});
	} finally {
		await proc.stop();
	}
}
