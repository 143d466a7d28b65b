/** Settings of `sherpany check-health`. Reads no database settings at all. */
import { ConfigError } from "../exit-codes.ts";
import { DEFAULT_PORT } from "./server.ts";
import {
	type Env,
	fallback,
	fromEnv,
	parseBoolean,
	parseInteger,
	parsePort,
	pick,
} from "./sources.ts";

/** Below Kubernetes' default exec probe timeout of one second. */
export const DEFAULT_CHECK_TIMEOUT_MS = 800;

export interface CheckHealthConfig {
	readonly url: URL;
	readonly timeoutMs: number;
}

export interface CheckHealthFlags {
	readonly url?: string;
	readonly ready?: boolean;
	readonly port?: string;
	readonly timeoutMs?: string;
}

/** Resolves what to probe: `--url`, else the local server's `/health` (or `/ready`) on PORT. */
export function loadCheckHealthConfig(
	env: Env,
	flags: CheckHealthFlags = {},
): CheckHealthConfig {
	const timeoutMs = parseInteger(
		pick(flags, "--timeout-ms", env, "CHECK_HEALTH_TIMEOUT_MS") ??
			fallback(DEFAULT_CHECK_TIMEOUT_MS),
		1,
		600_000,
	);
	const explicit = pick(flags, "--url", env, "CHECK_HEALTH_URL");
	if (explicit)
		return Object.freeze({
			url: parseHttpUrl(explicit.value, explicit.origin),
			timeoutMs,
		});
	const readyEnv = fromEnv(env, "CHECK_HEALTH_READY");
	const ready = flags.ready ?? (readyEnv ? parseBoolean(readyEnv) : false);
	const port = parsePort(
		pick(flags, "--port", env, "PORT") ?? fallback(DEFAULT_PORT),
	);
	const url = new URL(
		`http://127.0.0.1:${port}${ready ? "/ready" : "/health"}`,
	);
	return Object.freeze({ url, timeoutMs });
}

function parseHttpUrl(value: string, origin: string): URL {
	let url: URL;
	try {
		url = new URL(value);
	} catch (error) {
		throw new ConfigError(
			`${origin}: "${value}" is not a URL, expected e.g. http://127.0.0.1:8080/health`,
			{
				cause: error,
			},
		);
	}
	if (url.protocol !== "http:")
		throw new ConfigError(
			`${origin}: only http:// URLs are supported, got ${url.protocol}`,
		);
	return url;
}
