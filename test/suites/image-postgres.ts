/**
 * A built image against a real PostgreSQL, run as a restricted pod runs
 * it (test/helpers/image.ts: user 65532, read-only root filesystem, no
 * capabilities, no privilege escalation), with the database URL in a secret
 * file read through DATABASE_URL_FILE: `--version`, `migrate`, `seed`, the
 * default command (`serve`) with HTTP requests on the API and admin ports,
 * `check-health` exit codes, the image's own HEALTHCHECK, and SIGTERM.
 * test/image/postgres.test.ts runs it on the linux/amd64 image,
 * test/arm64/image-postgres.test.ts on the linux/arm64 one under qemu.
 */
import { readFile } from "node:fs/promises";
import type { Test } from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { healthcheckTest, inspectImage } from "../helpers/image.ts";
import {
	podman,
	podmanOk,
	runContainer,
	secretMount,
	startContainer,
	waitForHttp,
} from "../helpers/podman.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { freePort } from "../helpers/serve.ts";

const SECRET_PATH = "/run/secrets/sherpany/database-url";
/** Never needed (the test cluster trusts local connections), so it must never show up. */
const PASSWORD = "file-only-pa55word";
const SAMPLE_USERS = [
	{ id: 1, name: "John Doe", email: "john@example.com" },
	{ id: 2, name: "Jane Smith", email: "jane@example.com" },
	{ id: 3, name: "Bob Wilson", email: "bob@example.com" },
];

const pkg = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

/** The image a suite runs: by ID, and by the reference `--version` runs. */
export interface ImageUnderTest {
	readonly id: string;
	readonly ref: string;
	/** Environment every container gets (time limits under emulation). */
	readonly env: Readonly<Record<string, string>>;
	/** podman run flags of the serving containers (the health check's time limit under emulation). */
	readonly serveFlags: readonly string[];
	/** How long a container may take to serve /health. */
	readonly startMs: number;
}

/** Adds the suite's tests to `t`. */
export function imagePostgresSuite(t: Test, image: ImageUnderTest): void {
	t.test(
		"--version prints the package version and the Node runtime",
		async (t) => {
			const result = await runContainer(image.ref, ["--version"]);
			t.equal(result.code, 0, "exits 0", { stderr: result.stderr });
			t.match(
				result.stdout,
				new RegExp(
					`^sherpany ${pkg.version.replaceAll(".", "\\.")} \\(node 24\\.\\d+\\.\\d+\\)\\n$`,
				),
			);
		},
	);

	t.test(
		"migrate, seed and serve on PostgreSQL with the URL from a secret file",
		async (t) => {
			// What this suite proves does not depend on the PostgreSQL version, which
			// the database suites cover: one server keeps CI's run short.
			const pg = await startPostgres(t, { everyServer: false });
			const url = new URL(await pg.createDatabase());
			url.password = PASSWORD;
			const options = {
				env: { ...image.env, DATABASE_URL_FILE: SECRET_PATH },
				flags: await secretMount(t, SECRET_PATH, `${url.href}\n`),
			};
			const logs: string[] = [];

			// Twice each: a restarted init container or a second seed must be harmless.
			for (const round of [1, 2]) {
				const migrate = await runContainer(image.id, ["migrate"], options);
				t.equal(migrate.code, 0, `migrate, round ${round}`, {
					stderr: migrate.stderr,
				});
				logs.push(migrate.stdout, migrate.stderr);
			}
			const applied = await pg.query(
				url.href,
				"select name from kysely_migration",
			);
			t.same(
				applied.map((row) => row.name),
				["0001_create_users"],
				"one migration, applied once",
			);
			for (const round of [1, 2]) {
				const seed = await runContainer(image.id, ["seed"], options);
				t.equal(seed.code, 0, `seed, round ${round}`, { stderr: seed.stderr });
				logs.push(seed.stdout, seed.stderr);
			}
			t.same(
				await pg.query(
					url.href,
					"select id, name, email from users order by id",
				),
				SAMPLE_USERS,
				"the sample users, once",
			);

			const [port, adminPort] = [await freePort(), await freePort()];
			// No arguments: the image's CMD, serve.
			const name = await startContainer(t, image.id, [], {
				...options,
				flags: [...options.flags, ...image.serveFlags],
				env: {
					...options.env,
					PORT: String(port),
					ADMIN_PORT: String(adminPort),
				},
			});
			const api = `http://127.0.0.1:${port}`;
			const admin = `http://127.0.0.1:${adminPort}`;

			const health = await waitForHttp(`${api}/health`, image.startMs);
			t.equal(health.status, 200);
			t.same(await health.json(), { status: "healthy" });
			const users = await checkedFetch(`${api}/users`);
			t.equal(users.status, 200);
			t.same(await users.json(), SAMPLE_USERS);
			const ndjson = await checkedFetch(`${api}/users`, {
				headers: { Accept: "application/x-ndjson" },
			});
			t.equal(ndjson.status, 200, "the NDJSON export");
			t.same(
				(await ndjson.text())
					.split("\n")
					.filter((line) => line !== "")
					.map((line) => JSON.parse(line)),
				SAMPLE_USERS,
				"the NDJSON export gives every row",
			);
			const ready = await checkedFetch(`${api}/ready`);
			t.equal(ready.status, 200, "ready: database reachable and migrated");
			const metrics = await checkedFetch(`${admin}/metrics`);
			t.equal(metrics.status, 200);
			const text = await metrics.text();
			t.match(text, /^sherpany_build_info\{.*version="[^"]+".*\} 1$/m);
			t.match(
				text,
				/^http_request_duration_seconds_count\{.*route="\/users".*\} 2$/m,
			);
			t.equal(
				(await checkedFetch(`${api}/metrics`)).status,
				404,
				"no /metrics on the API port",
			);
			t.equal(
				(await checkedFetch(`${admin}/ready`)).status,
				200,
				"/ready on the admin port",
			);

			const check = await podman([
				"exec",
				name,
				"/usr/local/bin/sherpany",
				"check-health",
			]);
			t.equal(check.code, 0, "check-health in the serving container", {
				stderr: check.stderr,
			});
			const ready2 = await podman([
				"exec",
				name,
				"/usr/local/bin/sherpany",
				"check-health",
				"--ready",
			]);
			t.equal(ready2.code, 0, "check-health --ready", {
				stderr: ready2.stderr,
			});

			// The HEALTHCHECK exactly as the image declares it, run in the container.
			const test = healthcheckTest(await inspectImage(image.id));
			t.equal(
				test[0],
				"CMD",
				"an exec-form HEALTHCHECK (there is no shell for CMD-SHELL)",
			);
			const declared = await podman(["exec", name, ...test.slice(1)]);
			t.equal(declared.code, 0, "the declared HEALTHCHECK command", {
				stderr: declared.stderr,
			});
			const podmanCheck = await podman(["healthcheck", "run", name]);
			t.equal(podmanCheck.code, 0, "podman healthcheck run", {
				output: podmanCheck.stderr + podmanCheck.stdout,
			});

			// SIGTERM: drains and exits 0 within podman's 10 s before SIGKILL.
			await podmanOk(["stop", "--time", "10", name], 30_000);
			const state = JSON.parse(
				await podmanOk(["inspect", name, "--format", "{{json .State}}"]),
			) as {
				ExitCode: number;
			};
			t.equal(state.ExitCode, 0, "serve exits 0 on SIGTERM");
			const served = await podmanOk(["logs", name]);
			logs.push(served);
			t.match(served, /"msg":"listening"/);

			t.notOk(
				logs.join("\n").includes(PASSWORD),
				"the password from the secret file is in no output",
			);
		},
	);

	t.test(
		"check-health exits 1 when nothing answers, and so does the HEALTHCHECK",
		async (t) => {
			// check-health probes ADMIN_PORT when it is set (the image sets
			// it), else PORT: both name closed ports, and the message names
			// the admin port's.
			const closed = String(await freePort());
			const closedAdmin = String(await freePort());
			const result = await runContainer(image.id, ["check-health"], {
				env: { ...image.env, PORT: closed, ADMIN_PORT: closedAdmin },
			});
			t.equal(result.code, 1, "check-health exits 1", {
				output: result.stdout + result.stderr,
			});
			t.match(
				result.stdout + result.stderr,
				new RegExp(`127\\.0\\.0\\.1:${closedAdmin}`),
			);

			// serve listens on --port and --admin-port while PORT and
			// ADMIN_PORT, which the HEALTHCHECK reads, name closed ports: a
			// running container that is not healthy.
			const listening = await freePort();
			const name = await startContainer(
				t,
				image.id,
				[
					"serve",
					"--port",
					String(listening),
					"--admin-port",
					String(await freePort()),
				],
				{
					env: {
						...image.env,
						PORT: closed,
						ADMIN_PORT: closedAdmin,
						SHERPANY_DATA_DIR: "memory://",
					},
					flags: image.serveFlags,
				},
			);
			t.equal(
				(
					await waitForHttp(
						`http://127.0.0.1:${listening}/health`,
						image.startMs,
					)
				).status,
				200,
			);
			const unhealthy = await podman(["healthcheck", "run", name]);
			t.not(unhealthy.code, 0, "podman healthcheck run reports the failure");
			const direct = await podman([
				"exec",
				name,
				"/usr/local/bin/sherpany",
				"check-health",
			]);
			t.equal(direct.code, 1, "check-health exits 1 in the container");
		},
	);

	t.test(
		"a bad secret file path is exit code 2 naming the variable",
		async (t) => {
			const result = await runContainer(image.id, ["migrate"], {
				env: { ...image.env, DATABASE_URL_FILE: "/run/secrets/absent" },
			});
			t.equal(result.code, 2, "exit code 2", { stderr: result.stderr });
			t.match(result.stderr, /DATABASE_URL_FILE/);
		},
	);
}
