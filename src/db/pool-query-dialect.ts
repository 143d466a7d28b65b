/**
 * A Kysely dialect for single-statement reads on a node-postgres pool: each
 * query runs with `pool.query`, which hands its client back to the pool in
 * the query's own callback. Kysely's `PostgresDialect` instead checks a
 * client out with `pool.connect()` and releases it after the caller's
 * promise chain has resumed, which under `/users` load costs more CPU per
 * request and more garbage-collector work than `pool.query` on the same
 * pool (bench/RESULTS.md).
 *
 * Statements that need one session (transactions, `db.connection()`, the
 * migrator's advisory lock) cannot work here: transactions are refused;
 * `connection()` is not, but each of its statements may run on a different
 * session, so never use it here. Such work uses the `PostgresDialect`
 * instance over the same pool.
 */
import {
	type CompiledQuery,
	type DatabaseConnection,
	type Dialect,
	type Driver,
	Kysely,
	PostgresAdapter,
	PostgresIntrospector,
	PostgresQueryCompiler,
	type QueryResult,
} from "kysely";
import type pg from "pg";

/**
 * The read instance (`readDb`): Kysely on {@link poolQueryDialect}, and one shortcut
 * beside it. `readRows` runs SQL compiled beforehand with `pool.query`
 * directly, as Kysely's executor would in the end, without its connection
 * provider, driver and result plugins between (about ten promises and a
 * few µs per `/users` page, bench/RESULTS.md). The pool's clients still
 * name, time out and time the query (src/db/client-queries.ts).
 */
export class PoolReads<DB> extends Kysely<DB> {
	readonly #pool: pg.Pool;

	constructor(pool: pg.Pool) {
		super({ dialect: poolQueryDialect(pool) });
		this.#pool = pool;
	}

	/** The rows of `sql` with `parameters`. */
	async readRows<R>(sql: string, parameters: readonly unknown[]): Promise<R[]> {
		const result = await this.#pool.query(sql, parameters as unknown[]);
		return result.rows as R[];
	}
}

/** Why a transaction on the read instance (`readDb`) fails: it has no session to hold one. */
export const NO_SESSION_MESSAGE =
	"the read database runs single statements on the pool: run transactions and session work on the main Kysely instance";

/** The dialect of {@link PoolQueryDriver}: PostgreSQL SQL, run with `pool.query`. */
function poolQueryDialect(pool: pg.Pool): Dialect {
	return {
		createAdapter: () => new PostgresAdapter(),
		createDriver: () => new PoolQueryDriver(pool),
		createQueryCompiler: () => new PostgresQueryCompiler(),
		// biome-ignore lint/suspicious/noExplicitAny: Kysely's own dialects take Kysely<any> here.
		createIntrospector: (db: Kysely<any>) => new PostgresIntrospector(db),
	};
}

/** Every "connection" is the pool itself; nothing is checked out or released. */
class PoolQueryDriver implements Driver {
	readonly #connection: PoolQueryConnection;

	constructor(pool: pg.Pool) {
		// One object for every query: Kysely wraps each new connection for
		// its query log once, so a fresh one per query would cost that each time.
		this.#connection = new PoolQueryConnection(pool);
	}

	async init(): Promise<void> {}

	async acquireConnection(): Promise<DatabaseConnection> {
		return this.#connection;
	}

	async beginTransaction(): Promise<void> {
		throw new Error(NO_SESSION_MESSAGE);
	}

	async commitTransaction(): Promise<void> {
		throw new Error(NO_SESSION_MESSAGE);
	}

	async rollbackTransaction(): Promise<void> {
		throw new Error(NO_SESSION_MESSAGE);
	}

	async releaseConnection(): Promise<void> {}

	/** The pool belongs to the `PostgresDialect` instance, which ends it. */
	async destroy(): Promise<void> {}
}

/** Commands whose row count Kysely reports as `numAffectedRows`, as its own driver does. */
const WRITES = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

class PoolQueryConnection implements DatabaseConnection {
	readonly #pool: pg.Pool;

	constructor(pool: pg.Pool) {
		this.#pool = pool;
	}

	async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
		const result = await this.#pool.query(
			compiledQuery.sql,
			compiledQuery.parameters as unknown[],
		);
		return {
			rows: (result.rows ?? []) as R[],
			...(WRITES.has(result.command)
				? { numAffectedRows: BigInt(result.rowCount ?? 0) }
				: {}),
		};
	}

	// biome-ignore lint/correctness/useYield: streaming needs a cursor on one session, which this has not.
	async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
		throw new Error(NO_SESSION_MESSAGE);
	}
}
