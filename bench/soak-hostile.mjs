/**
 * `SOAK_SCENARIO=hostile node bench/soak.mjs`: the built image under
 * hostile clients, in a container limited to the Deployment's own memory
 * limit (read from `kubectl kustomize deploy/kubernetes/overlays/release`),
 * against a throwaway PostgreSQL with SOAK_ROWS users (300,000). One load
 * after the other, each for SOAK_PHASE_SECONDS (60): 1,000 stalled NDJSON
 * clients, 1,000 clients reading `/users?limit=1000` at 1 KiB/s, 5,000 idle
 * keep-alive connections. Throughout: the container is never restarted or
 * killed, its memory (cgroup working set) stays under 75 % of the limit, a
 * well-behaved client's `GET /users` answers within 1 s at p99, and
 * `check-health` (podman exec, every 5 s) exits 0 every time. Afterwards a
 * full export returns every row. Exits 1 if any of that fails.
 *
 *   npm run build && npm run image
 *   node_modules/node/bin/node bench/soak.mjs   # with SOAK_SCENARIO=hostile
 *
 * SOAK_IMAGE picks the image (default localhost/sherpany:latest). The load
 * holds about 7,000 sockets: `ulimit -n` must allow them.
 * The short form runs in `npm test`: test/image/hostile-clients.test.ts.
 */
import { startBenchPostgres } from "./lib/postgres.mjs";

const {
	containerState,
	countExportRows,
	deploymentMemoryLimit,
	runHostilePhases,
} = await import("../test/helpers/hostile-clients.ts");
const { runContainer, secretMount, startContainer, waitForHttp } = await import(
	"../test/helpers/podman.ts"
);
const { freePort } = await import("../test/helpers/serve.ts");

const rows = Number(process.env.SOAK_ROWS ?? 300_000);
const phaseSeconds = Number(process.env.SOAK_PHASE_SECONDS ?? 60);
const image = process.env.SOAK_IMAGE ?? "localhost/sherpany:latest";
const SECRET_PATH = "/run/secrets/sherpany/database-url";

const teardowns = [];
const t = { teardown: (fn) => teardowns.push(fn) };
const postgres = await startBenchPostgres();
let ok = false;
try {
	const limit = await deploymentMemoryLimit();
	console.log(`memory limit from the release overlay: ${limit / 2 ** 20} MiB`);
	const url = await postgres.cluster.createDatabase();
	const options = {
		flags: await secretMount(t, SECRET_PATH, `${url}\n`),
		env: { DATABASE_URL_FILE: SECRET_PATH, LOG_LEVEL: "warn" },
	};
	for (const args of [["migrate"], ["seed", "--count", String(rows)]]) {
		const result = await runContainer(image, args, options);
		if (result.code !== 0)
			throw new Error(
				`${args.join(" ")} exited ${result.code}: ${result.stderr}`,
			);
	}
	const [port, adminPort] = [await freePort(), await freePort()];
	const name = await startContainer(t, image, [], {
		env: {
			...options.env,
			PORT: String(port),
			ADMIN_PORT: String(adminPort),
		},
		flags: [...options.flags, "--memory", String(limit)],
	});
	await waitForHttp(`http://127.0.0.1:${adminPort}/ready`);
	const before = await containerState(name);
	const reports = await runHostilePhases({
		container: name,
		port,
		phaseSeconds,
		stalled: 1000,
		slow: 1000,
		idle: 5000,
		log: (line) => console.log(line),
	});
	const metrics = await (
		await fetch(`http://127.0.0.1:${adminPort}/metrics`)
	).text();
	const after = await containerState(name);
	const exported = await countExportRows(`http://127.0.0.1:${port}`);
	const checks = {
		"never restarted or killed":
			after.running &&
			after.restarts === 0 &&
			!after.oomKilled &&
			after.startedAt === before.startedAt,
		"memory under 75 % of the limit": reports.every(
			(report) => report.peakWorkingSetBytes < 0.75 * limit,
		),
		"well-behaved p99 under 1 s, all 200": reports.every(
			(report) =>
				report.wellBehaved.p99Ms < 1000 &&
				Object.keys(report.wellBehaved.statuses).join() === "200",
		),
		"check-health exit 0 every time": reports.every(
			(report) => report.probes.runs > 0 && report.probes.failed.length === 0,
		),
		"a full export returns every row": exported === rows,
	};
	console.log(
		JSON.stringify(
			{
				limitMiB: limit / 2 ** 20,
				rows,
				phaseSeconds,
				phases: reports.map((report) => ({
					...report,
					peakWorkingSetMiB: +(report.peakWorkingSetBytes / 2 ** 20).toFixed(1),
					peakUsageMiB: +(report.peakUsageBytes / 2 ** 20).toFixed(1),
					peakPercentOfLimit: +(
						(100 * report.peakWorkingSetBytes) /
						limit
					).toFixed(1),
				})),
				container: after,
				exported,
				metrics: metrics
					.split("\n")
					.filter((line) =>
						/^sherpany_(http_requests_shed_total|http_responses_stalled_total|exports_running)/.test(
							line,
						),
					),
				checks,
			},
			null,
			2,
		),
	);
	ok = Object.values(checks).every(Boolean);
} finally {
	for (const fn of teardowns.reverse()) await fn();
	await postgres.stop();
}
process.exit(ok ? 0 : 1);
