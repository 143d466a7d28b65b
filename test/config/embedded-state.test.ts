/** What a command says before it opens the embedded database, told from the data directory alone. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import {
	describeEmbeddedFallback,
	describeEmbeddedOpening,
	embeddedDatabaseExists,
} from "../../src/config/embedded-state.ts";

const embedded = (dataDir: string) => ({ kind: "embedded" as const, dataDir });

t.test("in memory: always created", async (t) => {
	t.equal(embeddedDatabaseExists(embedded("memory://")), false);
	t.equal(
		describeEmbeddedOpening(embedded("memory://")),
		"creating it in memory…",
	);
});

t.test("a directory is opened once initdb's PG_VERSION is there", async (t) => {
	const dir = t.testdir({});
	t.equal(embeddedDatabaseExists(embedded(dir)), false);
	t.equal(
		describeEmbeddedOpening(embedded(dir)),
		`creating it in ${dir}, which takes several seconds the first time…`,
	);
	await writeFile(join(dir, "PG_VERSION"), "17\n");
	t.equal(embeddedDatabaseExists(embedded(dir)), true);
	t.equal(describeEmbeddedOpening(embedded(dir)), `opening it in ${dir}…`);
});

t.test(
	"the fallback notice names the database and how to use PostgreSQL",
	async (t) => {
		t.equal(
			describeEmbeddedFallback(),
			"no database configured: using the embedded PGlite database; set DATABASE_URL (or PGHOST) to use PostgreSQL",
		);
		t.equal(
			describeEmbeddedFallback("embedded PGlite database in memory"),
			"no database configured: using the embedded PGlite database in memory; set DATABASE_URL (or PGHOST) to use PostgreSQL",
		);
	},
);
