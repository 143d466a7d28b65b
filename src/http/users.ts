/**
 * `GET /users`: a JSON array of `{id,name,email}` by id, paged by keyset
 * (`?limit=`, `?after=`) with an RFC 8288 `Link: rel="next"` header, or every
 * user as NDJSON when the client accepts `application/x-ndjson`.
 */
import { Readable } from "node:stream";
import type { Router } from "@koa/router";
import type { ReadUsing } from "../db/read-router.ts";
import type { User } from "../db/schema.ts";
import { listUsers, streamUserBatches } from "../db/users.ts";
import { parseIntegerParam } from "./query.ts";

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** Largest `serial` (int4) id; a larger `after` could only be an error in PostgreSQL. */
export const MAX_USER_ID = 2_147_483_647;
const NDJSON = "application/x-ndjson";

/** Adds the users routes to `router`; `read` picks the database (a replica or the primary). */
export function addUsersRoutes(router: Router, read: ReadUsing): void {
	router.get("/users", async (ctx) => {
		const limit = parseIntegerParam(
			ctx.query,
			"limit",
			1,
			MAX_PAGE_LIMIT,
			DEFAULT_PAGE_LIMIT,
		);
		const after = parseIntegerParam(ctx.query, "after", 0, MAX_USER_ID, 0);
		ctx.vary("Accept");
		if (ctx.accepts("application/json", NDJSON) === NDJSON) {
			await sendNdjson(ctx, read);
			return;
		}
		const { users, hasMore } = await read((db) => listUsers(db, limit, after));
		const last = users.at(-1);
		if (hasMore && last)
			ctx.set("Link", `</users?limit=${limit}&after=${last.id}>; rel="next"`);
		ctx.body = users;
	});
}

/**
 * Streams every user. The first batch is read before the status is sent, so
 * a database that is down still gets a 503 rather than a cut-off 200. Each
 * batch goes out as one chunk: a chunk per line cost the stream machinery
 * more than the JSON itself (bench/RESULTS.md).
 */
async function sendNdjson(
	ctx: { type: string; body: unknown },
	read: ReadUsing,
): Promise<void> {
	const batches = streamUserBatches(read);
	const first = await batches.next();
	async function* chunks(): AsyncGenerator<string> {
		if (first.done) return;
		yield toLines(first.value);
		for await (const batch of batches) yield toLines(batch);
	}
	ctx.type = NDJSON;
	ctx.body = Readable.from(chunks());
}

/** One JSON line per user. */
function toLines(users: readonly User[]): string {
	let out = "";
	for (const user of users) out += `${JSON.stringify(user)}\n`;
	return out;
}
