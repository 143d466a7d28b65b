/** Settings of `sherpany check-health`. Reads no database settings at all. */
import { ConfigError } from "../exit-codes.ts";
import { milliseconds } from "./durations.ts";
import { SERVE_SETTINGS } from "./server.ts";
import { type FlagsOf, resolve, type Settings } from "./setting.ts";
import { type Env, parseBoolean, type RawSetting } from "./values.ts";

/** Below Kubernetes' default exec probe timeout of one second. */
const DEFAULT_CHECK_TIMEOUT_MS = 800;

export interface CheckHealthConfig {
	readonly url: URL;
	readonly timeoutMs: number;
}

/** The check-health flags as commander hands them over; absent flags are undefined. */
export type CheckHealthFlags = FlagsOf<typeof CHECK_HEALTH_SETTINGS>;

/** The settings of `check-health`, by the key commander gives each flag's value. */
export const CHECK_HEALTH_SETTINGS = {
	ready: {
		env: ["CHECK_HEALTH_READY"],
		description: "probe /ready instead of /health",
		parse: parseBoolean,
	},
	url: {
		placeholder: "<url>",
		env: ["CHECK_HEALTH_URL"],
		description: "probe this URL instead",
		parse: parseHttpUrl,
	},
	port: { ...SERVE_SETTINGS.port, description: "port of the local server" },
	adminPort: {
		...SERVE_SETTINGS.adminPort,
		description: "admin port of the local server, probed instead of the port",
	},
	timeoutMs: milliseconds({
		env: "CHECK_HEALTH_TIMEOUT_MS",
		default: DEFAULT_CHECK_TIMEOUT_MS,
		description: "give up after this long",
		min: 1,
		max: 600_000,
	}),
} as const satisfies Settings;

/**
 * Resolves what to probe: `--url`, else the local server's `/health` (or
 * `/ready`) on ADMIN_PORT when there is one, else on PORT. The admin port
 * is the one no client from outside reaches, so a flood of connections to
 * the API port cannot make the liveness probe fail.
 */
export function loadCheckHealthConfig(
	env: Env,
	flags: CheckHealthFlags = {},
): CheckHealthConfig {
	const read = <K extends keyof typeof CHECK_HEALTH_SETTINGS>(key: K) =>
		resolve(CHECK_HEALTH_SETTINGS, key, flags, env);
	const timeoutMs = read("timeoutMs");
	const explicit = read("url");
	if (explicit) return Object.freeze({ url: explicit, timeoutMs });
	const ready = read("ready") ?? false;
	const url = new URL(
		`http://127.0.0.1:${read("adminPort") ?? read("port")}${ready ? "/ready" : "/health"}`,
	);
	return Object.freeze({ url, timeoutMs });
}

/**
 * Parses the URL a probe is sent to: http:// only, and no user name or
 * password, which the probe would neither send nor keep out of its output.
 * A value that may hold one (an `@`) is never echoed.
 */
function parseHttpUrl({ value, origin }: RawSetting): URL {
	let url: URL;
	try {
		url = new URL(value);
	} catch (error) {
		const shown = value.includes("@") ? "the value" : `"${value}"`;
		throw new ConfigError(
			`${origin}: ${shown} is not a URL, expected e.g. http://127.0.0.1:8080/health`,
			{
				cause: error,
			},
		);
	}
	if (url.username || url.password)
		throw new ConfigError(
			`${origin} has a user name or password: check-health sends no credentials (/health and /ready need none), remove them`,
		);
	if (url.protocol !== "http:")
		throw new ConfigError(
			`${origin}: only http:// URLs are supported, got ${url.protocol}`,
		);
	return url;
}
