/**
 * Headers every response carries: no MIME sniffing, and no caching. Every
 * route answers with live data (the users, or the state of this process), so
 * neither a browser nor a shared cache may keep a copy. Koa adds no
 * framework banner (no `X-Powered-By`), so there is none to remove.
 */
import type { Context, Next } from "koa";

/** The `Cache-Control` of every route: users are personal data, probes and metrics are live. */
export const CACHE_CONTROL = "no-store";

/**
 * Sets the headers before the route runs, so error answers carry them too.
 * Not async: it hands back the rest's promise rather than wrapping it.
 */
export function securityHeaders(ctx: Context, next: Next): Promise<void> {
	const response = ctx.res;
	response.setHeader("X-Content-Type-Options", "nosniff");
	response.setHeader("Cache-Control", CACHE_CONTROL);
	return next();
}
