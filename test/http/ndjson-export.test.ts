/**
 * The NDJSON export reads the table in keyset batches, one query each: the
 * queries that reach the real PostgreSQL are counted on the pool's clients
 * (the `onQuery` hook every pooled client reports to), so an export that
 * read the whole table at once would show one query, not one per batch.
 */
import t from "tap";
import { insertSyntheticUsers, STREAM_BATCH_SIZE } from "../../src/db/users.ts";
import { startApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

// Two full batches and part of a third: each batch asks for one row more
// than it returns (is there a next one?), so this is three queries.
const USERS = 2 * STREAM_BATCH_SIZE + 500;
const BATCHES = 3;

t.test("the export reads one query per batch of users", async (t) => {
	const url = await createMigratedDatabase(pg, (db) =>
		insertSyntheticUsers(db, "batches", 1, USERS),
	);
	let queries = 0;
	const app = await startApp(
		t,
		url,
		{},
		{
			onQuery: () => {
				queries += 1;
			},
		},
	);
	const response = await app.get("/users", {
		headers: { accept: "application/x-ndjson" },
	});
	t.equal(response.status, 200);
	const ids = (await response.text())
		.trim()
		.split("\n")
		.map((line) => (JSON.parse(line) as { id: number }).id);
	t.equal(ids.length, USERS, "every user");
	t.equal(new Set(ids).size, USERS, "each once");
	t.same(
		ids,
		[...ids].sort((a, b) => a - b),
		"by id",
	);
	t.equal(queries, BATCHES, `${BATCHES} queries of ${STREAM_BATCH_SIZE} users`);

	queries = 0;
	const page = await app.get("/users?limit=10");
	t.equal(page.status, 200);
	t.equal(queries, 1, "and a page is one query: the counter counts reads");
});
