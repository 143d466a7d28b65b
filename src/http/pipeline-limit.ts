/**
 * Bounds the requests one connection may have waiting for their responses.
 * Node parses every request in a chunk it reads and hands each to the app
 * at once, so one socket can pipeline thousands of requests in a few
 * packets and never read: each costs a request, a response and the app's
 * work, and together they hold the event loop for seconds (failing the
 * liveness probe) and the memory with it. A connection past the bound is
 * closed, and the requests it still has in the chunk are dropped unhandled.
 * Destroying the socket does not stop Node's parser, which goes on through
 * the rest of the chunk: each request would still get a request and a
 * response object, every 'request' listener's call, and on close an
 * 'aborted' error with its stack, ~1,700 per 64 KiB read. The parser's
 * hand-off to the server is cut too, so those requests end in the parser.
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
			stopHandingOver(socket);
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

/** Node's parser on a server socket; absent on other runtimes. */
interface ParserInternals {
	readonly parser?: { onIncoming?: unknown } | null;
}

/** Makes Node's parser drop the requests it still parses on `socket`. */
function stopHandingOver(socket: Socket): void {
	const parser = (socket as ParserInternals).parser;
	if (parser && typeof parser.onIncoming === "function")
		parser.onIncoming = dropIncoming;
}

/** The parser's hand-off for a closed connection: no body to skip, nothing to answer. */
function dropIncoming(): number {
	return 0;
}
