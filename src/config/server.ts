/** Settings of `sherpany serve`: where to listen, logging, shutdown timing, load limits. */
import { ConfigError } from "../exit-codes.ts";
import { milliseconds } from "./durations.ts";
import { type FlagsOf, pick, resolve, type Settings } from "./setting.ts";
import { type Env, parseChoice, parseInteger, parsePort } from "./values.ts";

export type LogLevel =
	| "fatal"
	| "error"
	| "warn"
	| "info"
	| "debug"
	| "trace"
	| "silent";
const LOG_LEVELS: readonly LogLevel[] = [
	"fatal",
	"error",
	"warn",
	"info",
	"debug",
	"trace",
	"silent",
];

/**
 * How log lines are written: `json`, one JSON object a line for a log
 * pipeline, or `pretty`, readable lines for a person at a terminal.
 */
export type LogFormat = "json" | "pretty";
const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];

const DEFAULT_PORT = 8080;
const DEFAULT_HOST = "0.0.0.0";
/**
 * The address's default on the embedded database: a developer's database
 * is not put on the network unasked. The image and the manifests set HOST
 * (and ADMIN_HOST) to 0.0.0.0, where it must listen.
 */
const DEFAULT_EMBEDDED_HOST = "127.0.0.1";
const DEFAULT_LOG_LEVEL: LogLevel = "info";
/** Time for load balancers to see readiness fail before the listener closes. */
const DEFAULT_SHUTDOWN_DELAY_MS = 5000;
/**
 * The delay's default on the embedded database. One process at a time can
 * open its data directory, so there is never a second replica for a load
 * balancer to move traffic to: waiting would only delay the exit.
 */
const DEFAULT_EMBEDDED_SHUTDOWN_DELAY_MS = 0;
/** How long in-flight requests may take to drain; below Kubernetes' 30 s grace period with the delay. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;
/** How long a request's database query may take before the request gets a 503. */
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
/** How long `/ready` waits for the database before calling it unreachable. */
const DEFAULT_READY_TIMEOUT_MS = 1000;

/**
 * NDJSON exports running at once per process. An export streams as fast as
 * its client reads, a batch query after another, and a stalled one holds a
 * batch (about 150 kB) plus its socket's buffer. Four keep exports to under
 * half of a pool of 10, so pages always find a connection, and leave the
 * CPU to them: with 32, a crowd of exports starved `GET /users` for 10 s
 * in the image suite.
 */
export const DEFAULT_MAX_EXPORTS = 4;
/**
 * Requests being handled at once (until their body is handed to the
 * socket); past it requests get a 503 without touching the database. A
 * request waiting for one of the pool's 10 connections holds a few kB; the
 * bound is what keeps a burst's queue for the pool short, so it is low:
 * twice the 64 connections of the bench's busiest scenario.
 */
export const DEFAULT_MAX_IN_FLIGHT = 128;
/**
 * Open connections per listener; past it Node closes new ones at once. An
 * idle connection holds a few kB and a file descriptor, so 10,000 stay far
 * inside the Deployment's memory limit.
 */
const DEFAULT_MAX_CONNECTIONS = 10_000;
/** A response whose client has read nothing for this long is ended. */
const DEFAULT_SEND_STALL_TIMEOUT_MS = 30_000;

export interface ServerConfig {
	readonly port: number;
	readonly host: string;
	/** A second port for /metrics, /health and /ready only; undefined serves them on the main port. */
	readonly adminPort: number | undefined;
	/** The admin port's address; the API's by default. */
	readonly adminHost: string;
	readonly logLevel: LogLevel;
	readonly logFormat: LogFormat;
	readonly shutdownDelayMs: number;
	readonly shutdownTimeoutMs: number;
	readonly readyTimeoutMs: number;
	readonly queryTimeoutMs: number;
	readonly maxExports: number;
	readonly maxInFlight: number;
	readonly maxConnections: number;
	readonly sendStallTimeoutMs: number;
}

/** What the defaults depend on besides flags and environment. */
export interface ServerConfigContext {
	/** Serving the embedded database: the shutdown delay defaults to 0 and the address to 127.0.0.1. */
	readonly embedded?: boolean;
	/** stdout is a terminal: the log format defaults to `pretty`. */
	readonly terminal?: boolean;
}

/** The settings of `serve`, by the key commander gives each flag's value. */
export const SERVE_SETTINGS = {
	port: {
		placeholder: "<port>",
		env: ["PORT"],
		default: DEFAULT_PORT,
		description: "API port",
		parse: parsePort,
	},
	host: {
		placeholder: "<address>",
		env: ["HOST"],
		default: DEFAULT_HOST,
		helpDefault: `${DEFAULT_HOST}, ${DEFAULT_EMBEDDED_HOST} on the embedded database`,
		description: "address to listen on",
	},
	adminPort: {
		placeholder: "<port>",
		env: ["ADMIN_PORT"],
		helpDefault: "none",
		description: "separate port for /metrics, /health, /ready",
		parse: parsePort,
	},
	adminHost: {
		placeholder: "<address>",
		env: ["ADMIN_HOST"],
		helpDefault: "the API's address",
		description: "address of the admin port",
	},
	logLevel: {
		placeholder: "<level>",
		env: ["LOG_LEVEL"],
		default: DEFAULT_LOG_LEVEL,
		description: LOG_LEVELS.join("|"),
		parse: (raw) => parseChoice(raw, LOG_LEVELS),
	},
	logFormat: {
		placeholder: "<format>",
		env: ["LOG_FORMAT"],
		default: "json",
		helpDefault: "pretty when stdout is a terminal, json otherwise",
		description: LOG_FORMATS.join("|"),
		parse: (raw) => parseChoice(raw, LOG_FORMATS),
	},
	shutdownDelayMs: milliseconds({
		env: "SHUTDOWN_DELAY_MS",
		default: DEFAULT_SHUTDOWN_DELAY_MS,
		helpDefault: `${DEFAULT_SHUTDOWN_DELAY_MS}, 0 on the embedded database`,
		description: "wait after readiness fails, for load balancers",
		min: 0,
		max: 600_000,
	}),
	shutdownTimeoutMs: milliseconds({
		env: "SHUTDOWN_TIMEOUT_MS",
		default: DEFAULT_SHUTDOWN_TIMEOUT_MS,
		description: "drain deadline",
		min: 0,
		max: 3_600_000,
	}),
	readyTimeoutMs: milliseconds({
		env: "READY_TIMEOUT_MS",
		default: DEFAULT_READY_TIMEOUT_MS,
		description: "database check timeout",
		min: 10,
		max: 60_000,
	}),
	queryTimeoutMs: milliseconds({
		env: "QUERY_TIMEOUT_MS",
		default: DEFAULT_QUERY_TIMEOUT_MS,
		description: "longest database query of a request before it gets a 503",
		min: 100,
		max: 3_600_000,
	}),
	maxExports: {
		placeholder: "<count>",
		env: ["MAX_EXPORTS"],
		default: DEFAULT_MAX_EXPORTS,
		description: "NDJSON exports at once; more get a 503",
		parse: (raw) => parseInteger(raw, 1, 10_000),
	},
	maxInFlight: {
		placeholder: "<count>",
		env: ["MAX_IN_FLIGHT"],
		default: DEFAULT_MAX_IN_FLIGHT,
		description: "requests handled at once; more get a 503 (not /health)",
		parse: (raw) => parseInteger(raw, 1, 100_000),
	},
	maxConnections: {
		placeholder: "<count>",
		env: ["MAX_CONNECTIONS"],
		default: DEFAULT_MAX_CONNECTIONS,
		description: "open connections per port; more are closed at once",
		parse: (raw) => parseInteger(raw, 1, 1_000_000),
	},
	sendStallTimeoutMs: milliseconds({
		env: "SEND_STALL_TIMEOUT_MS",
		default: DEFAULT_SEND_STALL_TIMEOUT_MS,
		description: "end a response whose client read nothing for this long",
		min: 1000,
		max: 3_600_000,
	}),
} as const satisfies Settings;

/** The serve flags as commander hands them over; absent flags are undefined. */
export type ServerFlags = FlagsOf<typeof SERVE_SETTINGS>;

/** Resolves the serve settings: flags, then environment, then defaults. Pure. */
export function loadServerConfig(
	env: Env,
	flags: ServerFlags = {},
	context: ServerConfigContext = {},
): ServerConfig {
	const read = <K extends keyof typeof SERVE_SETTINGS>(
		key: K,
		defaultValue?: string | number,
	) => resolve(SERVE_SETTINGS, key, flags, env, defaultValue);
	const port = read("port");
	const adminPort = read("adminPort");
	if (adminPort === port) {
		throw new ConfigError(
			`${pick(SERVE_SETTINGS, "adminPort", flags, env)?.origin}: the admin port must differ from the API port ${port}`,
		);
	}
	const host = read(
		"host",
		context.embedded ? DEFAULT_EMBEDDED_HOST : undefined,
	);
	return Object.freeze({
		port,
		host,
		adminPort,
		adminHost: read("adminHost") ?? host,
		logLevel: read("logLevel"),
		logFormat: read("logFormat", context.terminal ? "pretty" : undefined),
		shutdownDelayMs: read(
			"shutdownDelayMs",
			context.embedded ? DEFAULT_EMBEDDED_SHUTDOWN_DELAY_MS : undefined,
		),
		shutdownTimeoutMs: read("shutdownTimeoutMs"),
		readyTimeoutMs: read("readyTimeoutMs"),
		queryTimeoutMs: read("queryTimeoutMs"),
		maxExports: read("maxExports"),
		maxInFlight: read("maxInFlight"),
		maxConnections: read("maxConnections"),
		sendStallTimeoutMs: read("sendStallTimeoutMs"),
	});
}
