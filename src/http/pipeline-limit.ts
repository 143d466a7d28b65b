/**
 * Bounds the requests one connection may have waiting for their responses.
 * Node parses every request in a chunk it reads and hands each to the app
 * at once, so one socket can pipeline thousands of requests in a few
 * packets and never read: each costs a request, a response and the app's
 * work, and together they hold the event loop for seconds (failing the
 * liveness probe) and the memory with it. A connection past the bound is
 * closed, and the requests it still has in the chunk are dropped unhandled.
 * Clients that pipeline at all keep a few requests in flight, far below it.
 */
import type {
	IncomingMessage,
	RequestListener,
	ServerResponse,
} from "node:http";
import type { Socket } from "node:net";

export interface PipelineLimitOptions {
	/** Requests a connection may have without their responses finished. */
	readonly maxPipelined: number;
	/** Called once for each connection closed for pipelining past the bound. */
	readonly onExceeded: () => void;
}

/** `handle`, for requests within the bound; the rest close their connection. */
export function limitPipelining(
	handle: RequestListener,
	options: PipelineLimitOptions,
): RequestListener {
	const pending = new WeakMap<Socket, number>();
	return (request: IncomingMessage, response: ServerResponse): void => {
		const socket = request.socket;
		if (socket.destroyed) return;
		const waiting = (pending.get(socket) ?? 0) + 1;
		if (waiting > options.maxPipelined) {
			options.onExceeded();
			socket.destroy();
			return;
		}
		pending.set(socket, waiting);
		response.once("close", () => {
			pending.set(socket, (pending.get(socket) ?? 1) - 1);
		});
		handle(request, response);
	};
}
