/** Typed queries on `users`. Every function takes the Kysely instance it uses. */
import { CompiledQuery, type Kysely, sql } from "kysely";
import { PoolReads } from "./pool-query-dialect.ts";
import type { ReadUsing } from "./read-router.ts";
import type { Database, NewUser, User } from "./schema.ts";

/** The sample users that the original init.sql inserted. */
export const SAMPLE_USERS: readonly NewUser[] = [
	{ name: "John Doe", email: "john@example.com" },
	{ name: "Jane Smith", email: "jane@example.com" },
	{ name: "Bob Wilson", email: "bob@example.com" },
];

export interface UserPage {
	readonly users: User[];
	/** True when at least one more user follows the last one returned. */
	readonly hasMore: boolean;
}

/**
 * The page query's SQL, compiled once per Kysely instance: building and
 * compiling it on every request cost more CPU than the rest of the request
 * (bench/RESULTS.md). Only the parameters change from page to page: the
 * SQL is compiled from placeholder values, and each page binds `after` to
 * `$1` and `limit + 1` to `$2`. That relies on Kysely numbering the
 * `where` value before the `limit`, which {@link checkPageQuery} verifies.
 */
const pageSql = new WeakMap<Kysely<Database>, string>();

/** The placeholder values the page query is compiled from, told apart by {@link checkPageQuery}. */
const AFTER_PLACEHOLDER = 0;
const LIMIT_PLACEHOLDER = 1;

/** The thrown error's message when the parameters are not `[after, limit]`. */
export const PAGE_PARAMETERS_MESSAGE =
	"the page query's parameters are not numbered [after, limit]: did Kysely change how it compiles where and limit?";

/** Throws unless `parameters` are the page query's placeholders, in the order pages bind them. */
export function checkPageParameters(parameters: readonly unknown[]): void {
	if (
		parameters.length !== 2 ||
		parameters[0] !== AFTER_PLACEHOLDER ||
		parameters[1] !== LIMIT_PLACEHOLDER
	)
		throw new Error(
			`${PAGE_PARAMETERS_MESSAGE} (got ${JSON.stringify(parameters)})`,
		);
}

/**
 * Compiles the page query for `db` (once) and checks its parameters' order;
 * the app calls it when it is built, so a Kysely that numbers them otherwise
 * fails at start-up rather than serving the wrong page.
 */
export function checkPageQuery(db: Kysely<Database>): string {
	let text = pageSql.get(db);
	if (text === undefined) {
		const compiled = db
			.selectFrom("users")
			.select(["id", "name", "email"])
			.where("id", ">", AFTER_PLACEHOLDER)
			.orderBy("id")
			.limit(LIMIT_PLACEHOLDER)
			.compile();
		checkPageParameters(compiled.parameters);
		text = compiled.sql;
		pageSql.set(db, text);
	}
	return text;
}

/**
 * Runs one of the fixed page queries: on PostgreSQL's read instance
 * straight on the pool (src/db/pool-query-dialect.ts), elsewhere (PGlite,
 * the primary) through Kysely's executor.
 */
async function readRows<R>(
	db: Kysely<Database>,
	sql: string,
	parameters: unknown[],
): Promise<R[]> {
	return db instanceof PoolReads
		? db.readRows<R>(sql, parameters)
		: (await db.executeQuery<R>(CompiledQuery.raw(sql, parameters))).rows;
}

/** One keyset page: users with `id > after`, by id, at most `limit` of them. */
export async function listUsers(
	db: Kysely<Database>,
	limit: number,
	after = 0,
): Promise<UserPage> {
	const text = checkPageQuery(db);
	const rows = await readRows<User>(db, text, [after, limit + 1]);
	// The extra row only tells that more follow: dropped in place, not by a copy.
	const hasMore = rows.length > limit;
	if (hasMore) rows.length = limit;
	return { users: rows, hasMore };
}

/** One page as PostgreSQL wrote it: the JSON array's text, and what its `Link` needs. */
export interface UserPageJson {
	/** The JSON array of `{id,name,email}`, the bytes `JSON.stringify` gives the rows. */
	readonly body: string;
	/** The id of the page's last user, undefined on an empty page. */
	readonly last: number | undefined;
	/** True when at least one more user follows the last one returned. */
	readonly hasMore: boolean;
}

/**
 * The page query with PostgreSQL building the body (`row_to_json`, as
 * PostgREST does), so the rows never become objects in Node only to be
 * turned back into text. `$1` is `after`, `$2` the limit; the last id and
 * whether a user follows it come from the same statement, which sees one
 * snapshot. `row_to_json` writes the columns in the select's order, without
 * spaces, and escapes as `JSON.stringify` does for text PostgreSQL can hold
 * (test/db/page-json.test.ts fuzzes that).
 */
const PAGE_JSON_SQL = `select coalesce('[' || string_agg(row_to_json(u)::text, ',' order by u.id) || ']', '[]') as body,
  max(u.id) as last,
  case when count(*) = $2 then exists (select from "users" where "id" > max(u.id)) else false end as more
from (select "id", "name", "email" from "users" where "id" > $1 order by "id" limit $2) u`;

/** One keyset page as JSON text: users with `id > after`, by id, at most `limit` of them. */
export async function listUsersJson(
	db: Kysely<Database>,
	limit: number,
	after = 0,
): Promise<UserPageJson> {
	type Row = { body: string; last: number | null; more: boolean };
	const rows = await readRows<Row>(db, PAGE_JSON_SQL, [after, limit]);
	const row = rows[0] as Row;
	return { body: row.body, last: row.last ?? undefined, hasMore: row.more };
}

/**
 * Users per batch of {@link streamUserBatches}: few round trips, and small
 * enough that a batch in flight fits the executable's 4 MB semi-space, so
 * its rows die young instead of filling the old generation (the sizes
 * measured are in bench/RESULTS.md).
 */
export const STREAM_BATCH_SIZE = 2000;

/**
 * Every user, by id, in keyset batches so memory stays flat however large
 * the table is. Works the same on any dialect (no server-side cursor). Each
 * batch is its own read, so a stream that began on a replica that then fails
 * goes on from the primary where it stopped, and no connection is held
 * between batches. A batch is read only when the caller asks for it, never
 * ahead: a caller whose client has stopped reading holds one batch at most.
 */
export async function* streamUserBatches(
	read: ReadUsing,
	batchSize = STREAM_BATCH_SIZE,
): AsyncGenerator<User[]> {
	let after = 0;
	for (;;) {
		const page = await read((db) => listUsers(db, batchSize, after));
		const last = page.users.at(-1);
		if (last === undefined) return;
		yield page.users;
		if (!page.hasMore) return;
		after = last.id;
	}
}

/** Inserts the sample users that are missing; returns how many were inserted. */
export async function insertSampleUsers(db: Kysely<Database>): Promise<number> {
	const inserted = await db
		.insertInto("users")
		.values([...SAMPLE_USERS])
		.onConflict((conflict) => conflict.column("email").doNothing())
		.returning("id")
		.execute();
	return inserted.length;
}

/**
 * Inserts `count` synthetic users in one set-based statement. Emails carry
 * `runId` and the sequence number, so runs never collide with each other;
 * hence no `on conflict`, whose speculative insertion made PostgreSQL take
 * twice as long per row (bench/RESULTS.md). A repeated `runId` would fail
 * on the unique email rather than insert nothing.
 */
export async function insertSyntheticUsers(
	db: Kysely<Database>,
	runId: string,
	first: number,
	count: number,
): Promise<number> {
	const result = await sql`
    insert into users (name, email)
    select 'User ' || n, 'user-' || ${runId}::text || '-' || n || '@example.com'
    from generate_series(${first}::int, ${first + count - 1}::int) as n`.execute(
		db,
	);
	return Number(result.numAffectedRows ?? 0);
}
