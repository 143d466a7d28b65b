/**
 * `GET /users`: a JSON array of `{id,name,email}` by id, paged by keyset
 * (`?limit=`, `?after=`) with an RFC 8288 `Link: rel="next"` header, or every
 * user as NDJSON when the client accepts `application/x-ndjson`.
 */
import type { Router } from "@koa/router";
import type { Context } from "koa";
import type { ReadUsing } from "../db/read-router.ts";
import type { User } from "../db/schema.ts";
import { listUsersJson, streamUserBatches } from "../db/users.ts";
import type { Metrics } from "../metrics.ts";
import { sendOverloaded } from "./error-responses.ts";
import { NdjsonExport } from "./ndjson-export.ts";
import { cachedNegotiation } from "./negotiation-cache.ts";
import { parseIntegerParam } from "./query.ts";

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** Largest `serial` (int4) id; a larger `after` could only be an error in PostgreSQL. */
export const MAX_USER_ID = 2_147_483_647;
const NDJSON = "application/x-ndjson";

/** How many exports may run at once, and where they are counted and shed ones recorded. */
export interface ExportLimit {
	readonly maxExports: number;
	readonly metrics: Pick<Metrics, "exportsRunning" | "httpRequestsShed">;
}

/** Adds the users routes to `router`; `read` picks the database (a replica or the primary). */
export function addUsersRoutes(
	router: Router,
	read: ReadUsing,
	exportLimit: ExportLimit,
): void {
	const { maxExports, metrics } = exportLimit;
	const { exportsRunning } = metrics;
	const release = (): void => {
		exportsRunning.count--;
	};
	const negotiate = cachedNegotiation("application/json", NDJSON);
	router.get("/users", async (ctx) => {
		// Without a query string (most requests) there is nothing to parse.
		const query = ctx.querystring === "" ? undefined : ctx.query;
		const limit = query
			? parseIntegerParam(query, "limit", 1, MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT)
			: DEFAULT_PAGE_LIMIT;
		const after = query
			? parseIntegerParam(query, "after", 0, MAX_USER_ID, 0)
			: 0;
		// Nothing before this sets `Vary`, so it is set rather than appended to.
		ctx.res.setHeader("Vary", "Accept");
		if (negotiate(ctx) === NDJSON) {
			if (exportsRunning.count >= maxExports) {
				metrics.httpRequestsShed.inc({ reason: "exports" });
				sendOverloaded(ctx, "too many exports are running, retry later");
				return;
			}
			exportsRunning.count++;
			await sendNdjson(ctx, read, release);
			return;
		}
		const { body, last, hasMore } = await read((db) =>
			listUsersJson(db, limit, after),
		);
		if (hasMore && last !== undefined)
			ctx.set("Link", `</users?limit=${limit}&after=${last}>; rel="next"`);
		ctx.type = "application/json";
		ctx.body = body;
	});
}

/**
 * Streams every user. The first batch is read before the status is sent, so
 * a database that is down still gets a 503 rather than a cut-off 200.
 * `release` runs once the export is over, however it ended.
 */
async function sendNdjson(
	ctx: Context,
	read: ReadUsing,
	release: () => void,
): Promise<void> {
	const batches = streamUserBatches(read);
	let first: IteratorResult<User[]>;
	try {
		first = await batches.next();
	} catch (error) {
		release();
		throw error;
	}
	const body = new NdjsonExport(batches, first.done ? undefined : first.value);
	body.once("close", release);
	ctx.type = NDJSON;
	ctx.body = body;
}
