/** Typed queries on `users`. Every function takes the Kysely instance it uses. */
import { type Kysely, sql } from "kysely";
import type { ReadUsing } from "./read-router.ts";
import type { Database, User } from "./schema.ts";

/** The sample users that the original init.sql inserted. */
export const SAMPLE_USERS: readonly Omit<User, "id">[] = [
	{ name: "John Doe", email: "john@example.com" },
	{ name: "Jane Smith", email: "jane@example.com" },
	{ name: "Bob Wilson", email: "bob@example.com" },
];

export interface UserPage {
	readonly users: User[];
	/** True when at least one more user follows the last one returned. */
	readonly hasMore: boolean;
}

/** One keyset page: users with `id > after`, by id, at most `limit` of them. */
export async function listUsers(
	db: Kysely<Database>,
	limit: number,
	after = 0,
): Promise<UserPage> {
	const rows = await db
		.selectFrom("users")
		.select(["id", "name", "email"])
		.where("id", ">", after)
		.orderBy("id")
		.limit(limit + 1)
		.execute();
	return { users: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * Every user, by id, fetched in keyset batches so memory stays flat however
 * large the table is. Works the same on any dialect (no server-side cursor).
 * Each batch is its own read, so a stream that began on a replica that then
 * fails goes on from the primary where it stopped.
 */
export async function* streamUsers(
	read: ReadUsing,
	batchSize = 1000,
): AsyncGenerator<User> {
	let after = 0;
	for (;;) {
		const from = after;
		const { users, hasMore } = await read((db) =>
			listUsers(db, batchSize, from),
		);
		yield* users;
		const last = users.at(-1);
		if (!hasMore || last === undefined) return;
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
 * `runId` and the sequence number, so runs never collide with each other.
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
    from generate_series(${first}::int, ${first + count - 1}::int) as n
    on conflict (email) do nothing`.execute(db);
	return Number(result.numAffectedRows ?? 0);
}
