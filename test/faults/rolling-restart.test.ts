/**
 * A rolling restart with zero dropped requests: two `serve` processes on one
 * database behind a proxy that, like a Kubernetes Service, stops sending new
 * connections to a process once its `/ready` fails. Eight keep-alive
 * clients load it while each process in turn gets SIGTERM, exits 0 and is
 * replaced. Not one request may fail: during the shutdown delay responses
 * carry `Connection: close`, so no client reuses a socket the server is
 * about to close.
 */
import t from "tap";
import { migrateAndSeed } from "../helpers/cli.ts";
import { answeredOk, startLoad, untilAnswered } from "../helpers/load.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startReadyProxy } from "../helpers/ready-proxy.ts";
import { startServe } from "../helpers/serve.ts";

const pg = await startPostgres(t);

t.test(
	"rolling restart under keep-alive load: zero failed requests",
	async (t) => {
		const url = await pg.createDatabase();
		await migrateAndSeed(t, url);
		// The delay must outlast a few probe periods, as in Kubernetes.
		const env = { DATABASE_URL: url, SHUTDOWN_DELAY_MS: "1000" };
		const proxy = await startReadyProxy();
		t.teardown(() => proxy.close());
		const first = [await startServe(t, env), await startServe(t, env)];
		for (const serve of first) {
			proxy.add(serve.port);
			await proxy.waitReady(serve.port);
		}
		const load = startLoad({
			url: `http://127.0.0.1:${proxy.port}/users`,
			clients: 8,
			requestTimeoutMs: 10_000,
		});
		await untilAnswered(load, 20);
		for (const old of first) {
			const replacement = await startServe(t, env);
			proxy.add(replacement.port);
			await proxy.waitReady(replacement.port);
			old.child.kill("SIGTERM");
			t.equal(await old.exited, 0, `the old process on ${old.port} exits 0`);
			proxy.remove(old.port);
			// The load carries on through the new set before the next restart.
			await untilAnswered(load, answeredOk(load) + 20);
		}
		const samples = await load.stop();
		t.ok(samples.length > 200, `the load ran (${samples.length} requests)`);
		t.same(
			samples.filter((sample) => sample.status !== 200),
			[],
			"zero failed requests",
		);
		t.equal(proxy.refused(), 0, "the proxy always had a ready backend");
	},
);
