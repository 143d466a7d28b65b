/** Settings of `sherpany serve`: where to listen, logging, shutdown timing. */
import { ConfigError } from "../exit-codes.ts";
import {
	type Env,
	fallback,
	parseChoice,
	parseInteger,
	parsePort,
	pick,
} from "./sources.ts";

export type LogLevel =
	| "fatal"
	| "error"
	| "warn"
	| "info"
	| "debug"
	| "trace"
	| "silent";
export const LOG_LEVELS: readonly LogLevel[] = [
	"fatal",
	"error",
	"warn",
	"info",
	"debug",
	"trace",
	"silent",
];

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
/** Time for load balancers to see readiness fail before the listener closes. */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5000;
/**
 * The delay's default on the embedded database. One process at a time can
 * open its data directory, so there is never a second replica for a load
 * balancer to move traffic to: waiting would only delay the exit.
 */
export const DEFAULT_EMBEDDED_SHUTDOWN_DELAY_MS = 0;
/** How long in-flight requests may take to drain; below Kubernetes' 30 s grace period with the delay. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;
/** How long a request's database query may take before the request gets a 503. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
/** How long `/ready` waits for the database before calling it unreachable. */
export const DEFAULT_READY_TIMEOUT_MS = 1000;

export interface ServerConfig {
	readonly port: number;
	readonly host: string;
	/** A second port for /metrics, /health and /ready only; undefined serves them on the main port. */
	readonly adminPort: number | undefined;
	readonly logLevel: LogLevel;
	readonly shutdownDelayMs: number;
	readonly shutdownTimeoutMs: number;
	readonly readyTimeoutMs: number;
	readonly queryTimeoutMs: number;
}

export interface ServerFlags {
	readonly port?: string;
	readonly host?: string;
	readonly adminPort?: string;
	readonly logLevel?: string;
	readonly shutdownDelayMs?: string;
	readonly shutdownTimeoutMs?: string;
	readonly readyTimeoutMs?: string;
	readonly queryTimeoutMs?: string;
}

/** What the defaults depend on besides flags and environment. */
export interface ServerConfigContext {
	/** Serving the embedded database: the shutdown delay defaults to 0. */
	readonly embedded?: boolean;
}

/** Resolves the serve settings: flags, then environment, then defaults. Pure. */
export function loadServerConfig(
	env: Env,
	flags: ServerFlags = {},
	context: ServerConfigContext = {},
): ServerConfig {
	const port = parsePort(
		pick(flags, "--port", env, "PORT") ?? fallback(DEFAULT_PORT),
	);
	const admin = pick(flags, "--admin-port", env, "ADMIN_PORT");
	const adminPort = admin ? parsePort(admin) : undefined;
	if (adminPort === port) {
		throw new ConfigError(
			`${admin?.origin}: the admin port must differ from the API port ${port}`,
		);
	}
	return Object.freeze({
		port,
		host: pick(flags, "--host", env, "HOST")?.value ?? DEFAULT_HOST,
		adminPort,
		logLevel: loadLogLevel(env, flags),
		shutdownDelayMs: parseInteger(
			pick(flags, "--shutdown-delay-ms", env, "SHUTDOWN_DELAY_MS") ??
				fallback(
					context.embedded
						? DEFAULT_EMBEDDED_SHUTDOWN_DELAY_MS
						: DEFAULT_SHUTDOWN_DELAY_MS,
				),
			0,
			600_000,
		),
		shutdownTimeoutMs: parseInteger(
			pick(flags, "--shutdown-timeout-ms", env, "SHUTDOWN_TIMEOUT_MS") ??
				fallback(DEFAULT_SHUTDOWN_TIMEOUT_MS),
			0,
			3_600_000,
		),
		readyTimeoutMs: parseInteger(
			pick(flags, "--ready-timeout-ms", env, "READY_TIMEOUT_MS") ??
				fallback(DEFAULT_READY_TIMEOUT_MS),
			10,
			60_000,
		),
		queryTimeoutMs: parseInteger(
			pick(flags, "--query-timeout-ms", env, "QUERY_TIMEOUT_MS") ??
				fallback(DEFAULT_QUERY_TIMEOUT_MS),
			100,
			3_600_000,
		),
	});
}

/** `LOG_LEVEL`/`--log-level`, shared by every command that logs. */
export function loadLogLevel(
	env: Env,
	flags: { readonly logLevel?: string } = {},
): LogLevel {
	return parseChoice(
		pick(flags, "--log-level", env, "LOG_LEVEL") ?? fallback(DEFAULT_LOG_LEVEL),
		LOG_LEVELS,
	);
}
