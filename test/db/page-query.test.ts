/**
 * The page query is compiled once from placeholder values, and pages bind
 * `after` to $1 and `limit + 1` to $2 (src/db/users.ts): the order Kysely
 * numbers them in is checked when the app is built. No database needed:
 * Kysely compiles without one.
 */
import {
	DummyDriver,
	Kysely,
	PostgresAdapter,
	PostgresIntrospector,
	PostgresQueryCompiler,
} from "kysely";
import t from "tap";
import type { Database } from "../../src/db/schema.ts";
import {
	checkPageParameters,
	checkPageQuery,
	PAGE_PARAMETERS_MESSAGE,
} from "../../src/db/users.ts";

const cold = new Kysely<Database>({
	dialect: {
		createAdapter: () => new PostgresAdapter(),
		createDriver: () => new DummyDriver(),
		createIntrospector: (db) => new PostgresIntrospector(db),
		createQueryCompiler: () => new PostgresQueryCompiler(),
	},
});

t.test("this Kysely numbers the cursor $1 and the limit $2", async (t) => {
	t.equal(
		checkPageQuery(cold),
		'select "id", "name", "email" from "users" where "id" > $1 order by "id" limit $2',
	);
});

t.test("parameters in another order fail loudly", async (t) => {
	t.throws(() => checkPageParameters([1, 0]), {
		message: `${PAGE_PARAMETERS_MESSAGE} (got [1,0])`,
	});
	t.throws(() => checkPageParameters([0]), /not numbered \[after, limit\]/);
	t.throws(() => checkPageParameters([0, 1, 2]), /not numbered/);
	t.doesNotThrow(() => checkPageParameters([0, 1]));
});
