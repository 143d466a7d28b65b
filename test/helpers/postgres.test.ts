import { readFile } from "node:fs/promises";
import { Client } from "pg";
import t from "tap";
import { startPostgres } from "./postgres.ts";

t.test("a throwaway cluster", async (t) => {
	const cluster = await startPostgres(t);
	t.match(
		cluster.adminUrl,
		/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/,
	);
	t.equal(
		cluster.adminUrl,
		`postgres://postgres@127.0.0.1:${cluster.port}/postgres`,
	);
	t.equal(cluster.caFile, undefined, "no CA without ssl");

	t.test("query returns the rows of the last statement", async (t) => {
		const rows = await cluster.query(
			cluster.adminUrl,
			"SELECT 1 AS one, 'x'::text AS x",
		);
		t.same(rows, [{ one: 1, x: "x" }]);
		t.same(
			await cluster.query(
				cluster.adminUrl,
				"SET search_path = public; SELECT 2 AS two",
			),
			[{ two: 2 }],
		);
		t.same(
			await cluster.query(cluster.adminUrl, "CREATE TEMP TABLE x (id int)"),
			[],
		);
		await t.rejects(
			cluster.query(cluster.adminUrl, "SELECT * FROM no_such_table"),
			/no_such_table/,
		);
	});

	t.test(
		"createDatabase gives distinct, working, empty databases",
		async (t) => {
			const first = await cluster.createDatabase();
			const second = await cluster.createDatabase();
			t.not(first, second);
			await cluster.query(
				first,
				"CREATE TABLE marker (v text); INSERT INTO marker VALUES ('first')",
			);
			await cluster.query(
				second,
				"CREATE TABLE marker (v text); INSERT INTO marker VALUES ('second')",
			);
			t.same(await cluster.query(first, "SELECT v FROM marker"), [
				{ v: "first" },
			]);
			t.same(await cluster.query(second, "SELECT v FROM marker"), [
				{ v: "second" },
			]);
			const [name] = await cluster.query(
				first,
				"SELECT current_database() AS name",
			);
			t.equal(
				`${cluster.adminUrl.replace(/\/postgres$/, "")}/${String(name?.name)}`,
				first,
			);
			t.same(
				await cluster.query(
					cluster.adminUrl,
					"SELECT encode(convert_to('é', 'UTF8'), 'hex') AS hex",
				),
				[{ hex: "c3a9" }],
				"UTF8 encoding",
			);
		},
	);

	t.test(
		"stop makes connections fail, start brings the cluster back",
		async (t) => {
			const url = await cluster.createDatabase();
			await cluster.query(
				url,
				"CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)",
			);
			await cluster.stop();
			await cluster.stop(); // idempotent
			await t.rejects(cluster.query(url, "SELECT 1"), { code: "ECONNREFUSED" });
			await cluster.start();
			await cluster.start(); // idempotent
			t.same(
				await cluster.query(url, "SELECT v FROM kept"),
				[{ v: 42 }],
				"data survives a restart",
			);
			const [port] = await cluster.query(url, "SHOW port");
			t.equal(port?.port, String(cluster.port), "same port");
		},
	);
});

t.test("a cluster with TLS", async (t) => {
	const cluster = await startPostgres(t, { ssl: true });
	const caFile = cluster.caFile;
	if (caFile === undefined)
		throw new Error("caFile should be set with { ssl: true }");
	const ca = await readFile(caFile, "utf8");

	for (const host of ["127.0.0.1", "localhost"]) {
		t.test(`accepts a verified TLS connection to ${host}`, async (t) => {
			const client = new Client({
				host,
				port: cluster.port,
				user: "postgres",
				database: "postgres",
				ssl: { ca, rejectUnauthorized: true },
			});
			await client.connect();
			t.teardown(() => client.end());
			const { rows } = await client.query<{ ssl: boolean }>(
				"SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
			);
			t.same(rows, [{ ssl: true }]);
		});
	}

	t.test("rejects TLS when the client does not trust the CA", async (t) => {
		const client = new Client({
			connectionString: cluster.adminUrl,
			ssl: { ca: [], rejectUnauthorized: true },
		});
		client.on("error", () => {});
		await t.rejects(client.connect(), /self-signed|unable to (get|verify)/i);
	});
});

t.test("clusters are independent and torn down", async (t) => {
	let dataDir = "";
	await t.test("inner", async (t) => {
		const cluster = await startPostgres(t);
		const [row] = await cluster.query(cluster.adminUrl, "SHOW data_directory");
		dataDir = String(row?.data_directory);
		const again = await startPostgres(t);
		t.not(again.port, cluster.port);
	});
	await t.rejects(
		readFile(`${dataDir}/PG_VERSION`),
		{ code: "ENOENT" },
		"data dir removed by teardown",
	);
});

t.test("names the server it runs on", async (t) => {
	const cluster = await startPostgres(t);
	const [row] = await cluster.query(cluster.adminUrl, "SHOW server_version");
	t.match(
		String(row?.server_version),
		new RegExp(`^${cluster.server.version.replace(".", "\\.")}\\b`),
		`${cluster.server.label} is what the server reports`,
	);
	t.match(cluster.server.label, /^PostgreSQL \d+(\.\d+)? \((system|npm)\)$/);
});

t.test(
	"a suite that needs a tool the server lacks fails saying so",
	async (t) => {
		await t.rejects(
			startPostgres(t, { tools: ["no_such_pg_tool"] }),
			/needs no_such_pg_tool/,
		);
	},
);
