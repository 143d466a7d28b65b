/**
 * Limits on slow and abusive clients, set on every listener. Node checks
 * them once per `connectionsCheckingInterval`, so that is short: with the
 * default (30 s) a slowloris client would hold its socket three times as
 * long as `headersTimeout` says.
 */
import type { ServerOptions } from "node:http";

/** All request headers must arrive within this long (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request (headers and body) must arrive within this long. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * An idle keep-alive socket is closed after this long. Node sends it as a
 * `Keep-Alive: timeout=5` hint, and clients that honour it (Node's agent,
 * browsers) stop reusing the socket before the server closes it.
 */
const KEEP_ALIVE_TIMEOUT_MS = 5000;
/** How often Node looks for connections past the timeouts above. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;
/**
 * Request line plus headers, in bytes (Node's default); more is answered
 * 431. A URL longer than this is cut off the same way.
 */
const MAX_HEADER_SIZE = 16 * 1024;

/**
 * Requests one connection may have waiting for their responses before it
 * is closed (see pipeline-limit.ts). Browsers do not pipeline; clients that
 * do keep a handful in flight.
 */
export const MAX_PIPELINED_REQUESTS = 16;

/** Options for `http.createServer`. */
export const SERVER_LIMITS: ServerOptions = {
	headersTimeout: HEADERS_TIMEOUT_MS,
	requestTimeout: REQUEST_TIMEOUT_MS,
	keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
	connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
	maxHeaderSize: MAX_HEADER_SIZE,
};
