import { Command } from "commander";
import t from "tap";
import { addOptions, optionsOf } from "../../src/cli/options.ts";
import { API_TOKENS_SETTINGS } from "../../src/config/api-tokens.ts";
import { CHECK_HEALTH_SETTINGS } from "../../src/config/check-health.ts";
import { DATABASE_SETTINGS } from "../../src/config/database.ts";
import { READ_REPLICA_SETTINGS } from "../../src/config/read-replica.ts";
import { SEED_SETTINGS } from "../../src/config/seed.ts";
import { SERVE_SETTINGS } from "../../src/config/server.ts";
import {
	describeEnvAndDefault,
	flagOf,
	pick,
	resolve,
	type Settings,
} from "../../src/config/setting.ts";

const GROUPS: Record<string, Settings> = {
	SERVE_SETTINGS,
	DATABASE_SETTINGS,
	READ_REPLICA_SETTINGS,
	API_TOKENS_SETTINGS,
	SEED_SETTINGS,
	CHECK_HEALTH_SETTINGS,
};

t.test(
	"commander reads each derived flag into the setting's own key",
	async (t) => {
		for (const [name, settings] of Object.entries(GROUPS)) {
			const command = addOptions(new Command("x"), optionsOf(settings));
			t.same(
				command.options.map((option) => option.attributeName()),
				Object.keys(settings),
				name,
			);
		}
	},
);

t.test("flags and help text", async (t) => {
	t.equal(flagOf("shutdownDelayMs"), "--shutdown-delay-ms");
	t.equal(flagOf("url"), "--url");
	t.equal(
		describeEnvAndDefault(DATABASE_SETTINGS.databaseUrl),
		"env: DATABASE_URL or DATABASE_URL_FILE",
		"a secret names its _FILE form",
	);
	t.equal(
		describeEnvAndDefault(SERVE_SETTINGS.adminPort),
		"env: ADMIN_PORT, default: none",
		"the help's default may differ from the value's",
	);
	t.equal(
		describeEnvAndDefault({
			env: ["PRIMARY", "LEGACY"],
			description: "two variables and a default",
			default: 7,
		}),
		"env: PRIMARY or LEGACY, default: 7",
	);
	t.same(optionsOf(CHECK_HEALTH_SETTINGS)[0], {
		flags: "--ready",
		description: "probe /ready instead of /health (env: CHECK_HEALTH_READY)",
	});
});

t.test("flag, then variables, then default", async (t) => {
	const env = { PORT: "9000" };
	t.equal(resolve(SERVE_SETTINGS, "port", { port: "9100" }, env), 9100);
	t.equal(resolve(SERVE_SETTINGS, "port", {}, env), 9000);
	t.equal(resolve(SERVE_SETTINGS, "port", { port: "" }, {}), 8080);
	t.equal(resolve(SERVE_SETTINGS, "adminPort", {}, {}), undefined);
	t.equal(resolve(SERVE_SETTINGS, "shutdownDelayMs", {}, {}, 0), 0);
	t.same(pick(SERVE_SETTINGS, "port", {}, env), {
		value: "9000",
		origin: "PORT",
	});
	t.throws(() => resolve(SERVE_SETTINGS, "port", { port: "x" }, {}), {
		message: /^--port: expected a whole number/,
	});
	t.same(
		pick(
			DATABASE_SETTINGS,
			"databaseUrl",
			{},
			{
				DATABASE_URL_FILE: "/run/secrets/url",
			},
			() => "postgres://h/db\n",
		),
		{ value: "postgres://h/db", origin: "DATABASE_URL_FILE" },
		"a secret is read from its file",
	);
	t.equal(resolve(CHECK_HEALTH_SETTINGS, "ready", { ready: true }, {}), true);
	t.equal(
		resolve(CHECK_HEALTH_SETTINGS, "ready", {}, { CHECK_HEALTH_READY: "no" }),
		false,
	);
});
