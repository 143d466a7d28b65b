/**
 * The Koa application. `createApp` only wires middleware and routes; it never
 * listens, so tests drive it in-process through `app.callback()`.
 */
import { Router } from "@koa/router";
import Koa, { type Context } from "koa";
import type { Kysely } from "kysely";
import type { Migrator } from "kysely/migration";
import type { Logger } from "pino";
import type { ApiToken } from "../auth/token-file.ts";
import {
	DEFAULT_MAX_EXPORTS,
	DEFAULT_MAX_IN_FLIGHT,
} from "../config/server.ts";
import {
	type ReadUsing,
	type ReplicaStatus,
	runReadsOn,
} from "../db/read-router.ts";
import type { Database } from "../db/schema.ts";
import { checkPageQuery } from "../db/users.ts";
import type { Metrics } from "../metrics.ts";
import { requireBearerToken } from "./bearer-auth.ts";
import { handleErrors } from "./error-responses.ts";
import { addHealthRoutes } from "./health.ts";
import { observeRequests } from "./observe.ts";
import { addOpenApiRoute } from "./openapi.ts";
import { securityHeaders } from "./security-headers.ts";
import { shedLoad } from "./shed-load.ts";
import { addUsersRoutes } from "./users.ts";

/** Error codes of a client that went away before its response was complete. */
const CLIENT_GONE = new Set([
	"EPIPE",
	"ECONNRESET",
	"ERR_STREAM_PREMATURE_CLOSE",
]);

/** Which routes an app serves: the API, the admin endpoints, or both on one port. */
type AppRoutes = "api" | "admin" | "all";

export interface AppDeps {
	readonly db: Kysely<Database>;
	/** Runs `/users`' reads: a replica router's `runRead`; defaults to running them on `db`. */
	readonly runRead?: ReadUsing;
	/** The read replica's status for `/ready`, when there is one. */
	readonly replica?: () => ReplicaStatus;
	readonly migrator: Migrator;
	readonly metrics: Metrics;
	readonly logger: Logger;
	readonly readyTimeoutMs: number;
	/** True once shutdown has begun; `/ready` then answers 503. */
	readonly isShuttingDown: () => boolean;
	/** Defaults to "all". With an admin port, the API port serves "api" and the admin port "admin". */
	readonly routes?: AppRoutes;
	/** Requests handled at once on the API before the rest are shed; the admin port never sheds. */
	readonly maxInFlight?: number;
	/** NDJSON exports at once before the rest get a 503. */
	readonly maxExports?: number;
	/** The accepted API tokens now; when given, `/users` requires one (src/http/bearer-auth.ts). */
	readonly apiTokens?: () => readonly ApiToken[];
}

/**
 * Builds the app. `/health` and `/ready` are on every port; `/users` and
 * `/openapi.json` are on the API, and `/metrics` on the admin port (or on the
 * only port when there is one).
 */
export function createApp(deps: AppDeps): Koa {
	const routes = deps.routes ?? "all";
	const app = new Koa();
	const router = new Router();
	addHealthRoutes(router, {
		db: deps.db,
		migrator: deps.migrator,
		readyTimeoutMs: deps.readyTimeoutMs,
		isShuttingDown: deps.isShuttingDown,
		...(deps.replica ? { replica: deps.replica } : {}),
	});
	if (routes !== "admin") {
		// Registered first on the same path, so it runs before the handler,
		// for GET and HEAD alike, and stops a refused request there (before
		// it takes an export slot).
		if (deps.apiTokens)
			router.get("/users", requireBearerToken(deps.apiTokens));
		// Compiles the page query now, and fails here if Kysely numbers its
		// parameters otherwise than the pages bind them.
		checkPageQuery(deps.db);
		addUsersRoutes(router, deps.runRead ?? runReadsOn(deps.db), {
			maxExports: deps.maxExports ?? DEFAULT_MAX_EXPORTS,
			metrics: deps.metrics,
		});
		addOpenApiRoute(router);
	}
	if (routes !== "api") {
		router.get("/metrics", async (ctx) => {
			ctx.type = deps.metrics.registry.contentType;
			ctx.body = await deps.metrics.registry.metrics();
		});
	}
	// Errors after the response began reach here; Koa's default would print a
	// stack to stderr. A client that hangs up mid-stream is routine (debug,
	// once per request: Koa may report one hang-up both as EPIPE and as a
	// premature close); anything else, such as a stream cut by a database
	// failure, is an error.
	const hungUp = new WeakSet<Context>();
	app.on("error", (error: unknown, ctx?: Context) => {
		const requestId: unknown = ctx?.state.requestId;
		const code = (error as NodeJS.ErrnoException | undefined)?.code;
		if (code !== undefined && CLIENT_GONE.has(code)) {
			if (ctx) {
				if (hungUp.has(ctx)) return;
				hungUp.add(ctx);
			}
			deps.logger.debug(
				{ code, requestId },
				"client closed the connection before the response ended",
			);
			return;
		}
		deps.logger.error(
			{ err: error, requestId },
			"response failed after it began",
		);
	});
	app.use(observeRequests(deps.logger, deps.metrics));
	app.use(securityHeaders);
	app.use(handleErrors(deps.logger));
	if (routes !== "admin")
		app.use(shedLoad(deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, deps.metrics));
	app.use(router.routes());
	app.use(router.allowedMethods());
	return app;
}
