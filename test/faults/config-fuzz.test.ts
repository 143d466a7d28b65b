/**
 * Configuration fuzzing (fast-check): random values for every setting that
 * `serve`, `migrate`, `seed` and `check-health` read from the environment.
 * Loading either succeeds or fails with a ConfigError (exit 2) whose message
 * is one line, names a setting it was given, and never contains the
 * password. Then `seed` runs through the real CLI: with good settings it
 * gets as far as the database (a closed port: exit 1), and with one bad
 * value for any setting it reads it exits 2 with one line naming that
 * setting, no stack trace and no password.
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
	LOG_FORMAT: "json",
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

/** Where `seed` goes when its settings are good: a closed port, so it fails fast with exit 1. */
const UNREACHABLE = `postgres://u:${CANARY}@127.0.0.1:1/db`;

/** Good settings for `seed`, on which one setting at a time gets a bad value. */
const SEED_ENV: Readonly<Record<string, string>> = {
	DATABASE_URL: UNREACHABLE,
	PGPASSWORD: CANARY,
	PG_CONNECT_TIMEOUT_MS: "100",
};

/** Whole numbers outside [min, max], and words that are no whole number at all. */
function outside(min: number, max: number): fc.Arbitrary<string> {
	return fc.oneof(
		fc.integer({ min: -1_000_000, max: min - 1 }).map(String),
		fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }).map(String),
		fc.constantFrom("abc", "1.5", "-", "1,000", "0x1F", "1e3", "ten"),
	);
}

/** No sslmode: printable words outside the four modes. */
const notAnSslMode = fc
	.string({ minLength: 1, maxLength: 20 })
	.filter(
		(value) =>
			value.trim() !== "" &&
			!["disable", "require", "verify-ca", "verify-full"].includes(value),
	);

/**
 * Each setting `seed` reads, a generator of values it must refuse, and what
 * else it needs to be read (`PGPORT` is read only beside `PGHOST`, and
 * neither when `DATABASE_URL` is set).
 */
const SEED_READS: readonly {
	readonly name: string;
	readonly bad: fc.Arbitrary<string>;
	readonly with?: Readonly<Record<string, string | undefined>>;
}[] = [
	{ name: "SEED_COUNT", bad: outside(1, 100_000_000) },
	{ name: "PG_POOL_MAX", bad: outside(1, 1000) },
	{ name: "PG_CONNECT_TIMEOUT_MS", bad: outside(100, 600_000) },
	{ name: "PGSSLMODE", bad: notAnSslMode },
	{ name: "PG_SSLMODE_MIN", bad: notAnSslMode },
	{
		name: "PGPORT",
		bad: outside(1, 65_535),
		with: { DATABASE_URL: undefined, PGHOST: "127.0.0.1" },
	},
	{
		name: "DB_PORT",
		bad: outside(1, 65_535),
		with: { DATABASE_URL: undefined, DB_HOST: "127.0.0.1" },
	},
	{
		name: "DATABASE_URL",
		bad: fc.constantFrom(
			`postgres://u:${CANARY}@[::1/db`,
			`postgres://u:${CANARY}@host:99999/db`,
			`postgres://u:${CANARY}@host/db?sslmode=nope`,
			`mysql://u:${CANARY}@host/db`,
			`u:${CANARY}@host`,
		),
	},
];

/** `base` with `changes` applied; an undefined value removes the variable. */
function withChanges(
	base: Readonly<Record<string, string>>,
	changes: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
	const env: Record<string, string> = { ...base };
	for (const [name, value] of Object.entries(changes)) {
		if (value === undefined) delete env[name];
		else env[name] = value;
	}
	return env;
}

t.test(
	"through the CLI: seed's good settings reach the database (exit 1), and each bad one exits 2 naming it",
	async (t) => {
		const reached = await runCli(["seed"], SEED_ENV);
		t.equal(reached.code, 1, "good settings: seed goes on to the database");
		t.match(reached.stderr, /^sherpany: cannot reach the database at /);
		t.notMatch(reached.stderr, CANARY);

		const seed = Number(process.env.SHERPANY_FUZZ_SEED ?? 42);
		const cases = SEED_READS.flatMap((setting, index) =>
			fc
				.sample(setting.bad, { numRuns: 2, seed: seed + index })
				.map((value) => ({ setting, value })),
		);
		// A few at a time: each is a process start.
		for (let i = 0; i < cases.length; i += 4) {
			const batch = cases.slice(i, i + 4);
			const results = await Promise.all(
				batch.map(async ({ setting, value }) => ({
					name: setting.name,
					value,
					result: await runCli(
						["seed"],
						withChanges(SEED_ENV, { ...setting.with, [setting.name]: value }),
					),
				})),
			);
			for (const { name, value, result } of results) {
				const what = `${name}=${JSON.stringify(value)}`;
				t.equal(result.code, 2, `${what}: exit 2`, { stderr: result.stderr });
				const lines = result.stderr.trim().split("\n");
				t.equal(lines.length, 1, `${what}: one line`);
				t.match(
					lines[0],
					new RegExp(`^sherpany: .*\\b${name}\\b`),
					`${what}: names ${name}`,
				);
				t.notMatch(
					result.stdout + result.stderr,
					CANARY,
					`${what}: no password`,
				);
				t.notOk(hasStackTrace(result.stderr), `${what}: no stack trace`);
			}
		}
	},
);
