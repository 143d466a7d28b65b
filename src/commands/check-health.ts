/**
 * `sherpany check-health`: the exec liveness probe. It runs in every pod
 * every probe period, so it loads no database, HTTP framework or logging
 * code, and speaks just enough HTTP/1.1 over node:net to read a status line:
 * loading node:http alone costs about a tenth of Node's start-up (bench/).
 */
import { connect } from "node:net";
import type { CheckHealthConfig } from "../config/check-health.ts";
import { CommandError } from "../exit-codes.ts";

export interface CheckHealthDeps {
	readonly print: (line: string) => void;
}

/** GETs the URL; resolves when it answers 2xx, throws CommandError (exit 1) otherwise. */
export async function run(
	config: CheckHealthConfig,
	deps: CheckHealthDeps,
): Promise<void> {
	const status = await getStatus(config.url, config.timeoutMs);
	if (status < 200 || status > 299)
		throw new CommandError(`unhealthy: ${config.url} answered ${status}`);
	deps.print(`healthy: ${config.url} answered ${status}`);
}

/** The longest status line read before the answer is called "not HTTP". */
const MAX_STATUS_LINE = 1024;

/** Sends `GET url` and resolves with the status code of the answer, within `timeoutMs` in all. */
function getStatus(url: URL, timeoutMs: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const socket = connect({
			host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
			port: Number(url.port || 80),
		});
		let head = "";
		let settled = false;
		const settle = (
			status: number | undefined,
			reason?: string,
			cause?: unknown,
		): void => {
			if (settled) return;
			settled = true;
			clearTimeout(deadline);
			socket.destroy();
			if (status !== undefined) resolve(status);
			else reject(new CommandError(`unhealthy: ${url} ${reason}`, { cause }));
		};
		const deadline = setTimeout(
			() => settle(undefined, `did not answer within ${timeoutMs} ms`),
			timeoutMs,
		);
		socket.setEncoding("latin1");
		socket.on("connect", () =>
			socket.write(
				`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: sherpany-check-health\r\nConnection: close\r\n\r\n`,
			),
		);
		socket.on("data", (chunk: string) => {
			head += chunk;
			const lineEnd = head.indexOf("\r\n");
			if (lineEnd === -1 && head.length < MAX_STATUS_LINE) return;
			const status = /^HTTP\/1\.[01] (\d{3}) /.exec(
				head.slice(0, lineEnd),
			)?.[1];
			if (status) settle(Number(status));
			else settle(undefined, "did not answer with HTTP");
		});
		socket.on("end", () =>
			settle(undefined, "closed the connection without answering"),
		);
		socket.on("error", (error: NodeJS.ErrnoException) =>
			settle(undefined, `unreachable (${error.code ?? error.message})`, error),
		);
	});
}
