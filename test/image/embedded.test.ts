/**
 * The image with no database configured: `serve` creates the embedded PGlite
 * database in the volume at /var/lib/sherpany, on a read-only root
 * filesystem as user 65532, and a new container on the same volume finds
 * the data again.
 */
import { randomBytes } from "node:crypto";
import t from "tap";
import { checkedFetch } from "../helpers/checked-fetch.ts";
import { imageOrSkip } from "../helpers/image.ts";
import {
	podman,
	podmanOk,
	runContainer,
	startContainer,
	waitForHttp,
} from "../helpers/podman.ts";
import { freePort } from "../helpers/serve.ts";

const SAMPLE_EMAILS = [
	"john@example.com",
	"jane@example.com",
	"bob@example.com",
];

// Containers, PGlite's initdb and mmdebstrap on a shared 2-core machine: the
// package's 180 s per file was once nearly used up (94 s) under a full run.
t.setTimeout(360_000);

const image = await imageOrSkip(t);
if (image) {
	t.test(
		"serve keeps its embedded database in the /var/lib/sherpany volume",
		async (t) => {
			const volume = `sherpany-test-${process.pid}-${randomBytes(4).toString("hex")}`;
			await podmanOk(["volume", "create", volume]);
			// --force also removes a container still using it, whatever the teardown order.
			t.teardown(async () => {
				await podman(["volume", "rm", "--force", volume]);
			});
			const mount = ["--volume", `${volume}:/var/lib/sherpany`];

			const serveOnVolume = async (): Promise<{
				name: string;
				api: string;
			}> => {
				const port = await freePort();
				const name = await startContainer(t, image.id, [], {
					env: { PORT: String(port), ADMIN_PORT: String(await freePort()) },
					flags: mount,
				});
				const api = `http://127.0.0.1:${port}`;
				// A new data directory takes PGlite's initdb first: several seconds.
				const ready = await waitForHttp(`${api}/ready`, 120_000);
				t.equal(ready.status, 200, "ready on the embedded database");
				return { name, api };
			};

			const first = await serveOnVolume();
			const users = (await (
				await checkedFetch(`${first.api}/users`)
			).json()) as {
				email: string;
			}[];
			t.same(
				users.map((u) => u.email),
				SAMPLE_EMAILS,
				"a new database gets the sample users",
			);
			await podmanOk(["stop", "--time", "10", first.name], 30_000);
			const firstLogs = await podmanOk(["logs", first.name]);
			t.match(firstLogs, /embedded PGlite database in \/var\/lib\/sherpany/);
			t.match(firstLogs, /seeded the new embedded database/);

			const second = await serveOnVolume();
			const again = (await (
				await checkedFetch(`${second.api}/users`)
			).json()) as {
				email: string;
			}[];
			t.same(
				again.map((u) => u.email),
				SAMPLE_EMAILS,
				"the same users, not seeded twice",
			);
			await podmanOk(["stop", "--time", "10", second.name], 30_000);
			const secondLogs = await podmanOk(["logs", second.name]);
			t.notMatch(
				secondLogs,
				/seeded the new embedded database/,
				"an existing database is not seeded again",
			);
			const state = await podmanOk([
				"inspect",
				second.name,
				"--format",
				"{{.State.ExitCode}}",
			]);
			t.equal(state.trim(), "0", "serve exits 0 on SIGTERM");
		},
	);

	t.test(
		"without a writable data directory it fails, saying so, without a stack trace",
		async (t) => {
			// A read-only tmpfs over the data directory: nowhere to write.
			const result = await runContainer(image.id, ["migrate"], {
				flags: ["--mount", "type=tmpfs,target=/var/lib/sherpany,ro"],
			});
			t.equal(result.code, 1, "migrate exits 1");
			t.notMatch(result.stderr, /^\s+at /m, "no stack trace");
			t.match(
				result.stderr,
				/sherpany: the data directory \/var\/lib\/sherpany is not writable \(\w+\): mount a writable volume there/,
				"one line saying what to do",
			);
		},
	);
}
