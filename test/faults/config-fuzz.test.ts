/**
 * Configuration fuzzing (fast-check): random values for every setting that
 * `serve`, `migrate`, `seed` and `check-health` read from the environment.
 * Loading either succeeds or fails with a ConfigError (exit 2) whose message
 * is one line, names a setting it was given, and never contains the
 * password. A few of the generated environments then run through the real
 * CLI, which must exit 0 or 2 with one line and no stack trace (or 1: the
 * settings were good and the database, pointed at a closed port, is down).
 */
import fc from "fast-check";
import t from "tap";
import { loadCheckHealthConfig } from "../../src/config/check-health.ts";
import { loadDatabaseConfig } from "../../src/config/database.ts";
import { loadSeedInput } from "../../src/config/seed.ts";
import { loadServerConfig } from "../../src/config/server.ts";
import { exitCodeFor } from "../../src/exit-codes.ts";
import { hasStackTrace, runCli } from "../helpers/cli.ts";

const CANARY = "Canary-c0nf1g-pw";

/** Every setting, with a value it accepts. */
const SETTINGS: Readonly<Record<string, string>> = {
	PORT: "8081",
	ADMIN_PORT: "9091",
	HOST: "127.0.0.1",
	LOG_LEVEL: "info",
	SHUTDOWN_DELAY_MS: "1000",
	SHUTDOWN_TIMEOUT_MS: "1000",
	READY_TIMEOUT_MS: "1000",
	QUERY_TIMEOUT_MS: "1000",
	PG_POOL_MAX: "5",
	PG_CONNECT_TIMEOUT_MS: "1000",
	PGSSLMODE: "disable",
	PGHOST: "localhost",
	PGPORT: "5432",
	PGUSER: "sherpany",
	PGDATABASE: "sherpany",
	DB_HOST: "localhost",
	DB_PORT: "5432",
	SEED_COUNT: "5",
	CHECK_HEALTH_TIMEOUT_MS: "1000",
	CHECK_HEALTH_URL: "http://127.0.0.1:8080/health",
};

const junk = fc.oneof(
	fc.string({ maxLength: 30 }),
	fc.integer().map(String),
	fc.double().map(String),
	fc.constantFrom(
		"",
		" ",
		"-1",
		"0",
		"1e3",
		"0x1F",
		"99999999999999999999",
		"8080 ",
		"NaN",
		"true",
		"verify-full",
		"trace",
		"\u0000",
		"%zz",
	),
);
const databaseUrl = fc.oneof(
	fc.constant(`postgres://u:${CANARY}@127.0.0.1:1/db`),
	fc.constantFrom(
		`postgres://u:${CANARY}@[::1/db`,
		`postgres://u:${CANARY}@host:99999/db`,
		`postgres://u:${CANARY}@host/db?sslmode=nope`,
		`mysql://u:${CANARY}@host/db`,
		`postgres://u:${CANARY}%zz@host/db`,
		`u:${CANARY}@host`,
	),
	junk.map((value) => `postgres://u:${CANARY}@h/${value}`),
);
const environment = fc.record(
	{
		// Mostly values it accepts, so that some environments load.
		...Object.fromEntries(
			Object.entries(SETTINGS).map(([name, good]) => [
				name,
				fc.oneof(
					{ weight: 1, arbitrary: junk },
					{ weight: 12, arbitrary: fc.constant(good) },
				),
			]),
		),
		DATABASE_URL: databaseUrl,
		PGPASSWORD: fc.constant(CANARY),
	},
	{ requiredKeys: [] },
) as fc.Arbitrary<Record<string, string>>;

/** What loading every command's settings says: undefined, or the error. */
function load(env: Record<string, string>): unknown {
	try {
		loadDatabaseConfig(env);
		loadServerConfig(env, {}, { embedded: false });
		loadSeedInput(env);
		loadCheckHealthConfig(env);
		return undefined;
	} catch (error) {
		return error;
	}
}

t.test("random settings: ok, or one line naming the setting", async (t) => {
	let failures = 0;
	fc.assert(
		fc.property(environment, (env) => {
			const error = load(env);
			if (error === undefined) return;
			failures += 1;
			if (!(error instanceof Error)) throw new Error(`threw ${String(error)}`);
			if (exitCodeFor(error) !== 2)
				throw new Error(
					`${error.name} would exit ${exitCodeFor(error)}: ${error.message}`,
				);
			if (error.message.includes("\n"))
				throw new Error(`two lines: ${error.message}`);
			if (error.message.includes(CANARY))
				throw new Error(`the password: ${error.message}`);
			const named = Object.keys(env).some((name) =>
				error.message.includes(name),
			);
			if (!named) throw new Error(`names no setting: ${error.message}`);
		}),
		{
			numRuns: 2000,
			seed: Number(process.env.SHERPANY_FUZZ_SEED ?? Date.now() % 2 ** 31),
		},
	);
	t.ok(
		failures > 100 && failures < 2000,
		`some environments were refused (${failures} of 2000), some loaded`,
	);
});

t.test(
	"through the CLI: exit 0 or 2, one line, no stack, no password",
	async (t) => {
		const samples = fc.sample(environment, { numRuns: 8, seed: 42 });
		for (const [index, env] of samples.entries()) {
			// `migrate status` would connect when the settings are good: point it nowhere, quickly.
			const result = await runCli(["seed", "--count", "0"], {
				...env,
				PG_CONNECT_TIMEOUT_MS: "100",
				DATABASE_URL:
					env.DATABASE_URL ?? `postgres://u:${CANARY}@127.0.0.1:1/db`,
			});
			const output = result.stdout + result.stderr;
			t.notMatch(output, CANARY, `sample ${index + 1}: no password`);
			t.notOk(hasStackTrace(output), `sample ${index + 1}: no stack trace`);
			if (result.code === 2)
				t.equal(
					result.stderr.trim().split("\n").length,
					1,
					`sample ${index + 1}: one line`,
				);
			else
				t.ok(
					[0, 1].includes(result.code),
					`sample ${index + 1}: exit ${result.code}`,
				);
		}
	},
);
