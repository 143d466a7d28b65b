/**
 * `sherpany check-health`: the exec liveness probe. It runs in every pod
 * every probe period, so it loads no database code and keeps to node:http.
 */
import { request } from "node:http";
import type { CheckHealthConfig } from "../config/check-health.ts";
import { CommandError } from "../errors.ts";

export interface CheckHealthDeps {
	readonly print: (line: string) => void;
}

/** GETs the URL; resolves when it answers 2xx, throws CommandError (exit 1) otherwise. */
export async function run(
	config: CheckHealthConfig,
	deps: CheckHealthDeps,
): Promise<void> {
	const status = await get(config.url, config.timeoutMs);
	if (status < 200 || status > 299)
		throw new CommandError(`unhealthy: ${config.url} answered ${status}`);
	deps.print(`healthy: ${config.url} answered ${status}`);
}

function get(url: URL, timeoutMs: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = request(
			url,
			{ method: "GET", timeout: timeoutMs, agent: false },
			(response) => {
				response.resume();
				resolve(response.statusCode ?? 0);
			},
		);
		req.on("timeout", () => {
			req.destroy(
				new CommandError(
					`unhealthy: ${url} did not answer within ${timeoutMs} ms`,
				),
			);
		});
		req.on("error", (error: NodeJS.ErrnoException) => {
			if (error instanceof CommandError) reject(error);
			else
				reject(
					new CommandError(
						`unhealthy: ${url} unreachable (${error.code ?? error.message})`,
						{ cause: error },
					),
				);
		});
		req.end();
	});
}
