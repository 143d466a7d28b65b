/**
 * One wrapper around every pooled client's `query`, doing three things per
 * query at the cost of one closure and one timer:
 *
 * - repeated parameterized selects run as named statements
 *   (src/db/named-statements.ts), prepared once per connection;
 * - a query with no answer after `timeoutMs` fails with node-postgres' own
 *   "Query read timeout" message, and its connection is ended so the pool
 *   drops it (the server may answer it late, or never);
 * - each query's duration and outcome go to `onQuery` (the metrics).
 *
 * The timeout and the timing are done here rather than by node-postgres'
 * `query_timeout` and Kysely's query log, because each of those adds CPU
 * per request, most of it in the garbage collector's threads, where a plain
 * timer per query adds little (bench/RESULTS.md).
 */
import type pg from "pg";
import { errorCode } from "../error-code.ts";
import type { QueryObserver } from "./handle.ts";
import { statementName } from "./named-statements.ts";

/** The message node-postgres' own `query_timeout` fails a query with; src/db/classify-error.ts knows it. */
export const QUERY_TIMEOUT_MESSAGE = "Query read timeout";

/** SQLSTATEs of a named statement that cannot run on its connection any more. */
const STALE_STATEMENT_CODES = new Set(["0A000", "26000"]);

export interface ClientQueryOptions {
	/** A query with no answer after this long fails; none when unset. */
	readonly timeoutMs?: number;
	readonly onQuery?: QueryObserver;
}

type Callback = (error: Error | null | undefined, result?: unknown) => void;
type Query = (config: unknown, values?: unknown, callback?: unknown) => unknown;

/** Wraps `query` on every client `pool` connects, as described above. */
export function instrumentClientQueries(
	pool: pg.Pool,
	options: ClientQueryOptions,
): void {
	pool.on("connect", (client) => {
		const query = client.query.bind(client) as Query;
		(client as { query: unknown }).query = (
			text: unknown,
			values?: unknown,
			callback?: unknown,
		) => {
			// Cursors and other submittables, and config objects, go through as they are.
			if (typeof text !== "string") return query(text, values, callback);
			if (typeof values === "function") {
				callback = values;
				values = undefined;
			}
			const name = Array.isArray(values)
				? statementName(text, values)
				: undefined;
			const config =
				name === undefined ? { text, values } : { name, text, values };
			if (typeof callback === "function") {
				run(config, observe(client, options, callback as Callback));
				return undefined;
			}
			return new Promise((resolve, reject) => {
				run(
					config,
					observe(client, options, (error, result) =>
						error ? reject(error) : resolve(result),
					),
				);
			});
		};
		// A synchronous throw (bad arguments) settles too, so the timer is
		// cleared: left armed, it would end a client already handed back.
		const run = (config: unknown, settle: Callback) => {
			try {
				query(config, settle);
			} catch (error) {
				settle(error as Error);
			}
		};
	});
}

/**
 * The callback node-postgres gets: it settles `done` once, with the answer
 * or with the timeout, whichever comes first, and reports the duration.
 */
function observe(
	client: pg.PoolClient,
	{ timeoutMs, onQuery }: ClientQueryOptions,
	done: Callback,
): Callback {
	const started = performance.now();
	let settled = false;
	const settle: Callback = (error, result) => {
		if (settled) return;
		settled = true;
		clearTimeout(timer);
		// A prepared statement the server no longer accepts (its result type
		// changed under a migration: 0A000; or it is gone: 26000) fails on
		// this connection every time: end it, so the pool replaces it.
		if (STALE_STATEMENT_CODES.has(errorCode(error) ?? ""))
			client.end().catch(() => {});
		onQuery?.(
			(performance.now() - started) / 1000,
			error ? "error" : "success",
		);
		done(error, result);
	};
	// The timer's closure holds `settle` and the client, never the query's rows.
	const timer =
		timeoutMs === undefined
			? undefined
			: setTimeout(() => {
					settle(new Error(QUERY_TIMEOUT_MESSAGE));
					// The connection still owes this query's answer: end it, so
					// the pool drops it instead of queueing the next query behind.
					client.end().catch(() => {});
				}, timeoutMs);
	return settle;
}
