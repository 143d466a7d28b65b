/**
 * `seed` on the embedded database, run as a user would: it checks its file
 * before touching the database, and like `serve` it migrates a new embedded
 * database itself instead of asking for `migrate`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { describeEmbeddedFallback } from "../../src/config/embedded-state.ts";
import { runCli } from "../helpers/cli.ts";

const NOTICE = `sherpany: ${describeEmbeddedFallback("embedded PGlite database in .sherpany/data")}\n`;

t.test(
	"a missing --file is rejected before any database is named or created",
	async (t) => {
		const dir = t.testdir({});
		const result = await runCli(["seed", "--file", "/missing.csv"], {}, dir);
		t.equal(result.code, 2);
		t.equal(
			result.stderr,
			"sherpany: --file: cannot read /missing.csv (ENOENT)\n",
		);
		t.equal(result.stdout, "");
		t.notOk(existsSync(join(dir, ".sherpany")), "no data directory made");
	},
);

t.test(
	"seed --count on a new embedded database migrates it, as serve does",
	async (t) => {
		const dir = t.testdir({});
		const first = await runCli(["seed", "--count", "1000"], {}, dir);
		t.equal(first.code, 0, first.stderr);
		t.match(first.stdout, /^inserted 1000 synthetic users in \d+\.\d s\n$/);
		t.equal(
			first.stderr,
			`${NOTICE}sherpany: creating the embedded database in .sherpany/data, which takes several seconds the first time…\nsherpany: migrated the embedded database: applied 0001_create_users\n`,
			"says it creates the database, then that it migrated it",
		);

		const again = await runCli(["seed", "--count", "5"], {}, dir);
		t.equal(again.code, 0, again.stderr);
		t.equal(again.stderr, NOTICE, "an existing, current database: one notice");

		const sample = await runCli(["seed"], {}, dir);
		t.equal(
			sample.stdout,
			"sample users: 3 inserted, 0 already present\n",
			"seed --count added no sample users of its own",
		);
		const status = await runCli(["migrate", "status"], {}, dir);
		t.match(
			status.stdout,
			/0001_create_users {2}applied .*\n1 applied, 0 pending\n$/,
		);
	},
);
