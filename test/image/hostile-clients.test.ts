/**
 * The built image under hostile clients, in a container limited to the
 * Deployment's own memory limit (read from the rendered release overlay,
 * not retyped): stalled NDJSON clients, slow readers of `/users?limit=1000`
 * and idle keep-alive connections, one load after the other. Throughout,
 * the container is never restarted or killed, its memory stays under 75 %
 * of the limit, a well-behaved client's `GET /users` answers within 1 s at
 * p99, and `check-health` run in the container exits 0 every time; a full
 * export afterwards returns every row. The short form of
 * `SOAK_SCENARIO=hostile node bench/soak.mjs` (test/helpers/hostile-clients.ts).
 */
import t from "tap";
import {
	containerState,
	countExportRows,
	deploymentMemoryLimit,
	runHostilePhases,
} from "../helpers/hostile-clients.ts";
import { imageOrSkip } from "../helpers/image.ts";
import { checkKubectl } from "../helpers/kustomize.ts";
import {
	runContainer,
	secretMount,
	startContainer,
	waitForHttp,
} from "../helpers/podman.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort } from "../helpers/serve.ts";

// More than the socket buffers of a stalled export take, so exports stall.
const USERS = 100_000;
const PHASE_SECONDS = 20;
const SECRET_PATH = "/run/secrets/sherpany/database-url";

// Three phases of 20 s, the image build and the seed on a shared machine.
t.setTimeout(420_000);

const image = await imageOrSkip(t);
if (image) {
	await checkKubectl();
	t.test("bounded under hostile clients", async (t) => {
		const limit = await deploymentMemoryLimit();
		const pg = await startPostgres(t, { everyServer: false });
		const url = await pg.createDatabase();
		const options = {
			flags: await secretMount(t, SECRET_PATH, `${url}\n`),
			env: { DATABASE_URL_FILE: SECRET_PATH },
		};
		for (const args of [["migrate"], ["seed", "--count", String(USERS)]]) {
			const result = await runContainer(image.id, args, options);
			t.equal(result.code, 0, args.join(" "), { stderr: result.stderr });
		}
		const [port, adminPort] = [await freePort(), await freePort()];
		const name = await startContainer(t, image.id, [], {
			env: {
				...options.env,
				PORT: String(port),
				ADMIN_PORT: String(adminPort),
				LOG_LEVEL: "error",
				// Short enough that stalled exports are ended within a phase.
				SEND_STALL_TIMEOUT_MS: "10000",
			},
			flags: [...options.flags, "--memory", String(limit)],
		});
		await waitForHttp(`http://127.0.0.1:${adminPort}/ready`);
		const before = await containerState(name);

		const reports = await runHostilePhases({
			container: name,
			port,
			phaseSeconds: PHASE_SECONDS,
			stalled: 200,
			slow: 200,
			idle: 1000,
			probeEveryMs: 2000,
		});
		for (const report of reports) {
			t.comment(JSON.stringify(report));
			t.ok(
				report.peakWorkingSetBytes < 0.75 * limit,
				`${report.phase}: memory peaked at ${(report.peakWorkingSetBytes / 2 ** 20).toFixed(1)} MiB, under 75 % of ${limit / 2 ** 20} MiB`,
			);
			t.ok(
				report.wellBehaved.p99Ms < 1000,
				`${report.phase}: well-behaved p99 ${report.wellBehaved.p99Ms} ms`,
			);
			t.same(
				Object.keys(report.wellBehaved.statuses),
				["200"],
				`${report.phase}: the well-behaved client got only 200s`,
			);
			t.ok(report.probes.runs >= 3, `${report.phase}: probed`);
			t.same(report.probes.failed, [], `${report.phase}: every probe exit 0`);
		}
		t.ok(
			(reports[0]?.load["status 503"] ?? 0) > 0,
			"exports past MAX_EXPORTS were refused",
		);
		// A paused client does not see its connection end: the server says.
		const metrics = await (
			await fetch(`http://127.0.0.1:${adminPort}/metrics`)
		).text();
		t.match(
			metrics,
			/^sherpany_http_responses_stalled_total [1-9]/m,
			"stalled exports were ended",
		);
		const after = await containerState(name);
		t.match(after, { running: true, restarts: 0, oomKilled: false });
		t.equal(after.startedAt, before.startedAt, "the same process throughout");
		t.equal(
			await countExportRows(`http://127.0.0.1:${port}`),
			USERS,
			"a full export afterwards returns every row",
		);
	});
}
