/**
 * The behaviour that must match on PostgreSQL and on the embedded PGlite:
 * migrations, seeding and paging, through the same commands and app.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { run as migrate } from "../../src/commands/migrate.ts";
import { run as seed } from "../../src/commands/seed.ts";
import {
	type DatabaseConfig,
	loadDatabaseConfig,
} from "../../src/config/database.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { CommandError } from "../../src/exit-codes.ts";
import { startApp } from "../helpers/app.ts";
import { isPostgresRerun, startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

interface Backend {
	readonly name: string;
	/** A fresh, empty database. */
	fresh(t: Test): Promise<DatabaseConfig>;
}

const postgres: Backend = {
	name: "PostgreSQL",
	fresh: async () =>
		loadDatabaseConfig({ DATABASE_URL: await pg.createDatabase() }),
};
const pglite: Backend = {
	name: "PGlite",
	fresh: async (t) => {
		const dir = await mkdtemp(join(tmpdir(), "sherpany-pglite-"));
		t.teardown(() => rm(dir, { recursive: true, force: true }));
		return { kind: "embedded", dataDir: join(dir, "data") };
	},
};
// PGlite does not change with the PostgreSQL server: it runs in the first pass only.
const backends: Backend[] = isPostgresRerun() ? [postgres] : [postgres, pglite];

const quiet = {
	print: () => {},
	progress: { isTTY: false, write: () => true },
};

async function selectAll(config: DatabaseConfig): Promise<unknown[]> {
	const handle = await openDatabase(config);
	try {
		return await handle.db
			.selectFrom("users")
			.selectAll()
			.orderBy("id")
			.execute();
	} finally {
		await handle.close();
	}
}

for (const backend of backends) {
	t.test(
		`${backend.name}: migrate applies once, status lists it`,
		async (t) => {
			const config = await backend.fresh(t);
			const lines: string[] = [];
			const print = (line: string) => lines.push(line);
			await migrate({ database: config, action: "status" }, { print });
			await migrate({ database: config, action: "latest" }, { print });
			await migrate({ database: config, action: "latest" }, { print });
			await migrate({ database: config, action: "status" }, { print });
			t.same(lines.slice(0, 5), [
				"0001_create_users  pending",
				"0 applied, 1 pending",
				"applied 0001_create_users",
				"applied 1 migration(s); the database is up to date",
				"the database is up to date",
			]);
			t.match(lines[5], /^0001_create_users {2}applied /);
			t.equal(lines[6], "1 applied, 0 pending");
		},
	);

	t.test(
		`${backend.name}: seed is idempotent; a bad file commits nothing`,
		async (t) => {
			const config = await backend.fresh(t);
			await migrate({ database: config, action: "latest" }, quiet);
			const lines: string[] = [];
			const deps = { ...quiet, print: (line: string) => lines.push(line) };
			await seed({ database: config, input: { kind: "sample" } }, deps);
			await seed({ database: config, input: { kind: "sample" } }, deps);
			t.same(lines, [
				"sample users: 3 inserted, 0 already present",
				"sample users: 0 inserted, 3 already present",
			]);
			await seed(
				{ database: config, input: { kind: "count", count: 1500 } },
				deps,
			);
			const before = await selectAll(config);
			t.equal(before.length, 1503);

			const file = join(t.testdir(), "users.csv");
			await writeFile(
				file,
				"name,email\nAda,ada@example.com\nJohn again,john@example.com\n,nobody@example.com\n",
			);
			const rejected = seed(
				{
					database: config,
					input: { kind: "file", path: file, format: "csv" },
				},
				deps,
			);
			await t.rejects(rejected, CommandError);
			await t.rejects(
				rejected,
				/2 bad row\(s\) of 3; nothing was imported\n {2}line 3: email john@example.com already exists in the database\n {2}line 4: missing name/,
			);
			t.same(await selectAll(config), before, "the table is untouched");
		},
	);

	t.test(
		`${backend.name}: keyset pages and NDJSON cover every user once`,
		async (t) => {
			const config = await backend.fresh(t);
			await migrate({ database: config, action: "latest" }, quiet);
			await seed({ database: config, input: { kind: "sample" } }, quiet);
			await seed(
				{ database: config, input: { kind: "count", count: 1200 } },
				quiet,
			);
			const app = await startApp(t, config);
			const seen: number[] = [];
			let next: string | undefined = "/users?limit=500";
			while (next) {
				const response = await app.get(next);
				t.equal(response.status, 200);
				seen.push(
					...((await response.json()) as { id: number }[]).map(
						(user) => user.id,
					),
				);
				next = /^<([^>]+)>; rel="next"$/.exec(
					response.headers.get("link") ?? "",
				)?.[1];
			}
			t.same(
				seen,
				Array.from({ length: 1203 }, (_, i) => i + 1),
				"every id once, in order",
			);

			const ndjson = await app.get("/users", {
				headers: { Accept: "application/x-ndjson" },
			});
			t.equal((await ndjson.text()).trimEnd().split("\n").length, 1203);
			t.same(await (await app.get("/ready")).json(), {
				status: "ready",
				checks: { database: "ok", schema: "ok" },
			});
			t.equal((await app.get("/users?after=-1")).status, 400);
		},
	);
}
