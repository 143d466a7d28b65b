/**
 * `GET /openapi.json`: the API's OpenAPI description (openapi-document.ts).
 * It is open even when `/users` needs a token: it holds no data, every
 * deployment serves the same one, and a client reads it to learn how to
 * authenticate.
 */
import type { Router } from "@koa/router";
import { OPENAPI_DOCUMENT } from "./openapi-document.ts";

/** Adds `/openapi.json` to `router`; the document is serialised once. */
export function addOpenApiRoute(router: Router): void {
	const body = JSON.stringify(OPENAPI_DOCUMENT);
	router.get("/openapi.json", (ctx) => {
		ctx.type = "application/json";
		ctx.body = body;
	});
}
