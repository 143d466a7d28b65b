import t from "tap";
import { loadCheckHealthConfig } from "../../src/config/check-health.ts";
import { loadSeedInput } from "../../src/config/seed.ts";
import { loadServerConfig } from "../../src/config/server.ts";
import { ConfigError } from "../../src/exit-codes.ts";

t.test("serve defaults", async (t) => {
	t.same(loadServerConfig({}), {
		port: 8080,
		host: "0.0.0.0",
		adminPort: undefined,
		adminHost: "0.0.0.0",
		logLevel: "info",
		logFormat: "json",
		shutdownDelayMs: 5000,
		shutdownTimeoutMs: 20000,
		readyTimeoutMs: 1000,
		queryTimeoutMs: 10000,
		maxExports: 4,
		maxInFlight: 128,
		maxConnections: 10000,
		sendStallTimeoutMs: 30000,
	});
});

t.test("serve load limits: flags, then environment", async (t) => {
	t.match(
		loadServerConfig(
			{
				MAX_EXPORTS: "4",
				MAX_IN_FLIGHT: "50",
				MAX_CONNECTIONS: "600",
				SEND_STALL_TIMEOUT_MS: "5000",
			},
			{ maxExports: "8" },
		),
		{
			maxExports: 8,
			maxInFlight: 50,
			maxConnections: 600,
			sendStallTimeoutMs: 5000,
		},
	);
});

t.test(
	"serve on the embedded database: no shutdown delay unless one is set",
	async (t) => {
		t.equal(loadServerConfig({}, {}, { embedded: true }).shutdownDelayMs, 0);
		t.equal(
			loadServerConfig({}, {}, { embedded: false }).shutdownDelayMs,
			5000,
			"PostgreSQL keeps the delay for load balancers",
		);
		t.equal(
			loadServerConfig({ SHUTDOWN_DELAY_MS: "3000" }, {}, { embedded: true })
				.shutdownDelayMs,
			3000,
			"an explicit delay wins",
		);
	},
);

t.test(
	"serve's address: 127.0.0.1 on the embedded database, 0.0.0.0 on PostgreSQL, unless set",
	async (t) => {
		const embedded = { embedded: true };
		t.match(loadServerConfig({}, {}, embedded), {
			host: "127.0.0.1",
			adminHost: "127.0.0.1",
		});
		t.match(
			loadServerConfig({}, {}, { embedded: false }),
			{ host: "0.0.0.0", adminHost: "0.0.0.0" },
			"PostgreSQL's serve is a service: it listens on every address",
		);
		t.match(
			loadServerConfig({ HOST: "0.0.0.0" }, {}, embedded),
			{ host: "0.0.0.0", adminHost: "0.0.0.0" },
			"HOST wins, and the admin port follows it",
		);
		t.match(
			loadServerConfig(
				{ HOST: "0.0.0.0", ADMIN_HOST: "10.0.0.5" },
				{},
				embedded,
			),
			{ host: "0.0.0.0", adminHost: "10.0.0.5" },
			"ADMIN_HOST sets the admin port's apart",
		);
		t.match(
			loadServerConfig(
				{ ADMIN_HOST: "10.0.0.5" },
				{ host: "::1", adminHost: "127.0.0.1" },
				embedded,
			),
			{ host: "::1", adminHost: "127.0.0.1" },
			"flags win",
		);
	},
);

t.test(
	"the log format: pretty on a terminal, JSON elsewhere, unless set",
	async (t) => {
		t.equal(loadServerConfig({}, {}, { terminal: true }).logFormat, "pretty");
		t.equal(loadServerConfig({}, {}, { terminal: false }).logFormat, "json");
		t.equal(
			loadServerConfig({ LOG_FORMAT: "json" }, {}, { terminal: true })
				.logFormat,
			"json",
			"LOG_FORMAT=json on a terminal",
		);
		t.equal(
			loadServerConfig({ LOG_FORMAT: "pretty" }, {}, { terminal: false })
				.logFormat,
			"pretty",
			"LOG_FORMAT=pretty on a pipe",
		);
		t.equal(
			loadServerConfig(
				{ LOG_FORMAT: "pretty" },
				{ logFormat: "json" },
				{ terminal: true },
			).logFormat,
			"json",
			"the flag wins",
		);
	},
);

t.test("serve: flags, then environment, then defaults", async (t) => {
	const config = loadServerConfig(
		{
			PORT: "9000",
			ADMIN_PORT: "9100",
			LOG_LEVEL: "debug",
			SHUTDOWN_DELAY_MS: "0",
		},
		{ port: "9001", logLevel: "warn" },
	);
	t.match(config, {
		port: 9001,
		adminPort: 9100,
		logLevel: "warn",
		shutdownDelayMs: 0,
	});
	t.ok(Object.isFrozen(config));
});

t.test("serve config errors name the flag or variable", async (t) => {
	const cases: [Record<string, string>, Record<string, string>, RegExp][] = [
		[{ PORT: "65536" }, {}, /^PORT: 65536 is out of range/],
		[{}, { port: "http" }, /^--port: expected a whole number/],
		[
			{ PORT: "8080", ADMIN_PORT: "8080" },
			{},
			/^ADMIN_PORT: the admin port must differ from the API port 8080/,
		],
		[
			{ LOG_LEVEL: "verbose" },
			{},
			/^LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent/,
		],
		[{ LOG_FORMAT: "text" }, {}, /^LOG_FORMAT: expected one of json, pretty/],
		[{}, { logFormat: "JSON" }, /^--log-format: expected one of json, pretty/],
		[
			{ SHUTDOWN_TIMEOUT_MS: "-1" },
			{},
			/^SHUTDOWN_TIMEOUT_MS: expected a whole number/,
		],
		[{}, { readyTimeoutMs: "5" }, /^--ready-timeout-ms: 5 is out of range/],
		[{ MAX_EXPORTS: "0" }, {}, /^MAX_EXPORTS: 0 is out of range/],
		[{ MAX_IN_FLIGHT: "many" }, {}, /^MAX_IN_FLIGHT: expected a whole number/],
		[{}, { maxConnections: "-5" }, /^--max-connections: expected a whole/],
		[
			{ SEND_STALL_TIMEOUT_MS: "10" },
			{},
			/^SEND_STALL_TIMEOUT_MS: 10 is out of range/,
		],
	];
	for (const [env, flags, message] of cases) {
		const error = t.throws(() => loadServerConfig(env, flags)) as Error;
		t.type(error, ConfigError);
		t.match(error.message, message);
	}
});

t.test("check-health targets the local /health on PORT", async (t) => {
	t.equal(loadCheckHealthConfig({}).url.href, "http://127.0.0.1:8080/health");
	t.equal(
		loadCheckHealthConfig({ PORT: "9000" }).url.href,
		"http://127.0.0.1:9000/health",
	);
	t.equal(
		loadCheckHealthConfig({ PORT: "9000" }, { port: "9001", ready: true }).url
			.href,
		"http://127.0.0.1:9001/ready",
	);
	t.equal(
		loadCheckHealthConfig({ PORT: "9000", ADMIN_PORT: "9090" }).url.href,
		"http://127.0.0.1:9090/health",
		"the admin port, which outside clients do not reach, when there is one",
	);
	t.equal(
		loadCheckHealthConfig({}, { adminPort: "9191", ready: true }).url.href,
		"http://127.0.0.1:9191/ready",
	);
	t.equal(
		loadCheckHealthConfig({ CHECK_HEALTH_READY: "true" }).url.href,
		"http://127.0.0.1:8080/ready",
	);
	t.equal(
		loadCheckHealthConfig(
			{ CHECK_HEALTH_URL: "http://svc:1/x" },
			{ url: "http://other:2/y" },
		).url.href,
		"http://other:2/y",
	);
	t.equal(loadCheckHealthConfig({}).timeoutMs, 800);
	t.equal(
		loadCheckHealthConfig({ CHECK_HEALTH_TIMEOUT_MS: "250" }).timeoutMs,
		250,
	);
});

t.test(
	"check-health refuses credentials in the URL, which it would not send, without echoing them",
	async (t) => {
		for (const url of [
			"http://probe:s3cret@127.0.0.1:8080/health",
			"http://s3cret@127.0.0.1:8080/health",
			"http://probe:s3cret@[::1/health",
		]) {
			const error = t.throws(() => loadCheckHealthConfig({}, { url })) as Error;
			t.equal(error?.name, "ConfigError", url);
			t.notMatch(error?.message, /s3cret/, `${url}: not echoed`);
		}
		t.match(
			t.throws(() =>
				loadCheckHealthConfig({
					CHECK_HEALTH_URL: "http://probe:s3cret@127.0.0.1:8080/health",
				}),
			),
			{
				message:
					/^CHECK_HEALTH_URL has a user name or password: check-health sends no credentials \(\/health and \/ready need none\), remove them$/,
			},
		);
	},
);

t.test("check-health config errors", async (t) => {
	t.throws(() => loadCheckHealthConfig({}, { url: "not a url" }), {
		name: "ConfigError",
		message: /^--url: "not a url" is not a URL/,
	});
	const hidden = t.throws(() =>
		loadCheckHealthConfig({}, { url: "http://probe:s3cret@[::1/health" }),
	) as Error;
	t.match(
		hidden.message,
		/^--url: the value is not a URL, expected e\.g\. http:/,
	);
	t.type(hidden.cause, TypeError, "the parser's error is kept as the cause");
	t.throws(
		() => loadCheckHealthConfig({ CHECK_HEALTH_URL: "https://x/health" }),
		{ message: /^CHECK_HEALTH_URL: only http:\/\// },
	);
	t.throws(() => loadCheckHealthConfig({ CHECK_HEALTH_READY: "maybe" }), {
		message: /^CHECK_HEALTH_READY: expected true or false/,
	});
	t.throws(() => loadCheckHealthConfig({ PORT: "x" }), {
		message: /^PORT: expected a whole number/,
	});
});

t.test("seed input", async (t) => {
	t.same(loadSeedInput({}), { kind: "sample" });
	t.same(loadSeedInput({ SEED_COUNT: "10" }, { count: "20" }), {
		kind: "count",
		count: 20,
	});
	t.same(loadSeedInput({}, { file: "users.csv" }), {
		kind: "file",
		path: "users.csv",
		format: "csv",
		origin: "--file",
	});
	t.same(loadSeedInput({ SEED_FILE: "u.ndjson" }), {
		kind: "file",
		path: "u.ndjson",
		format: "ndjson",
		origin: "SEED_FILE",
	});
	t.throws(() => loadSeedInput({}, { count: "0" }), {
		message: /^--count: 0 is out of range/,
	});
	const both = t.throws(() =>
		loadSeedInput({}, { count: "1", file: "a.csv" }),
	) as Error;
	t.type(both, ConfigError);
	t.match(both.message, /--count and --file cannot be combined/);
	t.throws(() => loadSeedInput({}, { file: "users.txt" }), {
		name: "ConfigError",
		message: /^--file: users\.txt must end in \.csv, \.ndjson or \.jsonl/,
	});
	t.throws(() => loadSeedInput({ SEED_FILE: "users.txt" }), {
		name: "ConfigError",
		message: /^SEED_FILE: users\.txt must end in/,
	});
});
