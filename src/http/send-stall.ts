/**
 * Ends responses whose client has stopped reading. Backpressure keeps what
 * such a response holds to its socket's buffer; this frees that too, and
 * the connection with it, once the client has read nothing for `timeoutMs`.
 * One timer per server looks at every connection's unsent bytes: data that
 * is waiting and has not shrunk since the last look is stalled. A slow
 * reader is not: any byte it reads lets the operating system take more and
 * the waiting bytes shrink. It works for every response, pages and exports.
 */
import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";

export interface SendStallOptions {
	readonly timeoutMs: number;
	readonly logger: Logger;
	readonly metrics: Pick<Metrics, "httpResponsesStalled">;
}

/** A connection's unsent bytes at the last look, and since when they have not shrunk. */
interface Progress {
	unsent: number;
	queued: number;
	since: number;
}

/** Node's internals that tell how far a write got; absent on other runtimes. */
interface SocketInternals {
	readonly _handle?: { readonly writeQueueSize?: number } | null;
	readonly _httpMessage?: ServerResponse | null;
}

/** Watches `server`'s connections until it closes. */
export function endStalledResponses(
	server: Server,
	options: SendStallOptions,
): void {
	const watched = new Map<Socket, Progress>();
	function forget(this: Socket): void {
		watched.delete(this);
	}
	server.on("connection", (socket: Socket) => {
		watched.set(socket, { unsent: 0, queued: 0, since: 0 });
		socket.once("close", forget);
	});
	const sweep = (): void => {
		const now = performance.now();
		for (const [socket, progress] of watched) {
			if (isStalled(socket, progress, now, options.timeoutMs))
				endStalled(socket, now - progress.since, options);
		}
	};
	// A quarter of the timeout, so a stall is ended at most 25 % late.
	const every = Math.min(1000, Math.max(100, options.timeoutMs / 4));
	const timer = setInterval(sweep, every);
	timer.unref();
	server.once("close", () => clearInterval(timer));
}

/** Updates `progress` from the socket and says whether it has been stuck for `timeoutMs`. */
function isStalled(
	socket: Socket,
	progress: Progress,
	now: number,
	timeoutMs: number,
): boolean {
	// Bytes handed to the socket and not yet taken by the operating system.
	const unsent = socket.writableLength;
	// Of those, the ones a write in progress has left: they shrink as a
	// slow reader reads, even while that one write is unfinished.
	const queued = (socket as SocketInternals)._handle?.writeQueueSize ?? 0;
	const moved =
		progress.since === 0 ||
		unsent < progress.unsent ||
		queued < progress.queued;
	progress.unsent = unsent;
	progress.queued = queued;
	if (unsent === 0) {
		progress.since = 0;
		return false;
	}
	if (moved) {
		progress.since = now;
		return false;
	}
	return now - progress.since >= timeoutMs;
}

function endStalled(
	socket: Socket,
	stalledMs: number,
	options: SendStallOptions,
): void {
	const response = (socket as SocketInternals)._httpMessage;
	const requestId = response?.getHeader("x-request-id");
	options.metrics.httpResponsesStalled.inc();
	options.logger.warn(
		{
			requestId,
			stalledMs: Math.round(stalledMs),
			unsentBytes: socket.writableLength,
		},
		"ended a response whose client read nothing for the send-stall timeout",
	);
	socket.destroy();
}
