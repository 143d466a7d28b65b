// Scenarios 3 to 6: deep-page latency, NDJSON export against
// psql's COPY, seed --count against plain SQL, and migrate with nothing
// pending against `node -e 0`. Each pair interleaved, round by round.
import { spawnSync } from "node:child_process";
import {
	freePort,
	memoryOf,
	startProcess,
	waitForOk,
} from "./lib/processes.mjs";
import { BINARY, NODE, peakRssOfRun, timed } from "./lib/sherpany.mjs";
import { median, ratios, spread } from "./lib/stats.mjs";
import { runWrk } from "./lib/wrk.mjs";

const ms = (value) => `${value.toFixed(1)} ms`;
const s = (value) => `${(value / 1000).toFixed(2)} s`;
const x = (value) => value.toFixed(2);
const USERS_SQL = (n) =>
	`insert into users (name, email) select 'User ' || n, 'user-bench-' || n || '@example.com' from generate_series(1, ${n}) n`;

/** Throws, saying what to install, when psql is missing. */
export function requirePsql() {
	if (spawnSync("psql", ["--version"]).error)
		throw new Error(
			"psql is missing: install it with `apt-get install -y postgresql-client`",
		);
}

async function startSherpany(databaseUrl, env) {
	const port = await freePort();
	const proc = startProcess(BINARY, ["serve"], {
		...env,
		DATABASE_URL: databaseUrl,
		PORT: String(port),
		HOST: "127.0.0.1",
		SHUTDOWN_DELAY_MS: "0",
		LOG_LEVEL: "silent",
	});
	const url = `http://127.0.0.1:${port}`;
	await waitForOk(`${url}/users?limit=1`, 60_000, proc);
	return { proc, url };
}

/** Scenarios 3 to 6; adds rows to `report`. */
export async function runDataScenarios({
	cluster,
	env,
	config,
	report,
	results,
}) {
	const n = config.users;
	const big = await cluster.createDatabase();
	timed(BINARY, ["migrate"], { ...env, DATABASE_URL: big });
	await cluster.query(big, `${USERS_SQL(n)}; analyze users`);

	// 3. First page against a page near the end, by p50 latency.
	{
		const server = await startSherpany(big, env);
		try {
			const first = [];
			const deep = [];
			const options = { connections: 4, seconds: config.seconds };
			await runWrk(`${server.url}/users?limit=100`, {
				connections: 4,
				seconds: 1,
			});
			for (let round = 0; round < config.rounds; round++) {
				first.push(
					(await runWrk(`${server.url}/users?limit=100`, options)).p50,
				);
				deep.push(
					(
						await runWrk(
							`${server.url}/users?limit=100&after=${n - 200}`,
							options,
						)
					).p50,
				);
			}
			const r = ratios(deep, first);
			results.deep_page = { first, deep };
			report.add({
				scenario: `3. /users?limit=100 on ${n} users: deep page (after=${n - 200}) p50 vs first page`,
				measured: `${spread(deep, ms)} vs ${spread(first, ms)}`,
				ratio: median(r),
				spread: spread(r, x),
				target: { max: 1.2 },
			});
		} finally {
			await server.proc.stop();
		}
	}

	// 4. NDJSON export against psql COPY of the same JSON lines; a fresh
	// server each round so its peak RSS is the export's.
	{
		const exportMs = [];
		const copyMs = [];
		const peaks = [];
		const copy = `copy (select json_build_object('id', id, 'name', name, 'email', email) from users order by id) to stdout`;
		for (let round = 0; round < config.exportRounds; round++) {
			const server = await startSherpany(big, env);
			try {
				const started = process.hrtime.bigint();
				const got = spawnSync(
					"curl",
					[
						"-sS",
						"-H",
						"Accept: application/x-ndjson",
						"-o",
						"/dev/null",
						"-w",
						"%{http_code} %{size_download}",
						`${server.url}/users`,
					],
					{ encoding: "utf8" },
				);
				exportMs.push(Number(process.hrtime.bigint() - started) / 1e6);
				if (got.status !== 0 || !got.stdout.startsWith("200"))
					throw new Error(`NDJSON export failed: ${got.stdout} ${got.stderr}`);
				peaks.push(memoryOf(server.proc.pid).peak);
			} finally {
				await server.proc.stop();
			}
			const started = process.hrtime.bigint();
			const psql = spawnSync(
				"sh",
				["-c", `psql -X -q -d "$1" -c "$2" > /dev/null`, "sh", big, copy],
				{ env },
			);
			if (psql.status !== 0)
				throw new Error(`psql COPY failed: ${psql.stderr}`);
			copyMs.push(Number(process.hrtime.bigint() - started) / 1e6);
		}
		const r = ratios(copyMs, exportMs); // rows/s ratio = inverse time ratio
		results.ndjson_export = { exportMs, copyMs, peakRssMiB: peaks };
		report.add({
			scenario: `4. NDJSON export of ${n} users: rows/s vs psql COPY (times: sherpany vs psql)`,
			measured: `${spread(exportMs, s)} vs ${spread(copyMs, s)}`,
			ratio: median(r),
			spread: spread(r, x),
			target: { min: 1.2 },
		});
		report.add({
			scenario: "4. NDJSON export: server's peak RSS, MiB (target < 120)",
			measured: spread(peaks, (v) => `${v.toFixed(0)} MiB`),
			ratio: median(peaks) / 120,
			target: { max: 1 },
		});
	}

	// 5. seed --count against one plain insert … select of the same rows,
	// each into a fresh migrated database.
	{
		const seedMs = [];
		const sqlMs = [];
		for (let round = 0; round < config.seedRounds; round++) {
			const a = await cluster.createDatabase();
			timed(BINARY, ["migrate"], { ...env, DATABASE_URL: a });
			seedMs.push(
				timed(BINARY, ["seed", "--count", String(n)], {
					...env,
					DATABASE_URL: a,
				}).ms,
			);
			const b = await cluster.createDatabase();
			timed(BINARY, ["migrate"], { ...env, DATABASE_URL: b });
			sqlMs.push(
				timed("psql", ["-X", "-q", "-d", b, "-c", USERS_SQL(n)], env).ms,
			);
			for (const db of [a, b])
				await cluster.query(
					cluster.adminUrl,
					`drop database "${new URL(db).pathname.slice(1)}"`,
				);
		}
		const r = ratios(sqlMs, seedMs);
		results.seed = { seedMs, sqlMs };
		report.add({
			scenario: `5. seed --count ${n}: rows/s vs plain SQL (times: seed vs psql)`,
			measured: `${spread(seedMs, s)} vs ${spread(sqlMs, s)}`,
			ratio: median(r),
			spread: spread(r, x),
			target: { min: 0.7 },
		});
	}

	// 6. migrate with nothing pending against `node -e 0`.
	{
		const migrateMs = [];
		const nodeMs = [];
		const menv = { ...env, DATABASE_URL: big };
		for (let round = 0; round < config.startRounds; round++) {
			nodeMs.push(timed(NODE, ["-e", "0"], env).ms);
			migrateMs.push(timed(BINARY, ["migrate"], menv).ms);
		}
		const r = ratios(migrateMs, nodeMs);
		results.migrate = {
			migrateMs,
			nodeMs,
			peakRssMiB: peakRssOfRun(BINARY, ["migrate"], menv),
			nodePeakRssMiB: peakRssOfRun(NODE, ["-e", "0"], env),
		};
		report.add({
			scenario: `6. migrate, nothing pending, vs node -e 0 (peak RSS ${results.migrate.peakRssMiB.toFixed(0)} vs ${results.migrate.nodePeakRssMiB.toFixed(0)} MiB)`,
			measured: `${spread(migrateMs, ms)} vs ${spread(nodeMs, ms)}`,
			ratio: median(r),
			spread: spread(r, x),
			target: { max: 3 },
		});
	}
}
