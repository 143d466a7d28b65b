/**
 * Bearer-token authentication (RFC 6750) for the API routes, present only
 * when `API_TOKENS_FILE` is set. A request without an accepted token gets
 * `401`, `WWW-Authenticate: Bearer` and the JSON error, and its message is
 * the same whatever was wrong. The accepted token's name goes into
 * `ctx.state.tokenName`, for the request log; the token itself goes nowhere.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import type { ApiToken } from "../auth/token-file.ts";
import { sendError } from "./error-responses.ts";

/**
 * `Bearer <b64token>` (RFC 6750 §2.1); the scheme is case-insensitive
 * (RFC 7235 §2.1). Node has already trimmed the value's outer whitespace.
 */
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** Any use of the Bearer scheme, well-formed or not. */
const BEARER_SCHEME = /^Bearer(?: |$)/i;
const REALM = 'Bearer realm="sherpany"';
/**
 * With credentials that were refused, RFC 6750 §3.1's `invalid_token`: the
 * client sent a token and it did not pass, which it knows already. Whether
 * the token was unknown, revoked or malformed stays unsaid.
 */
const REFUSED = `${REALM}, error="invalid_token"`;
const MESSAGE =
	"this API needs an accepted token: send Authorization: Bearer <token>";

/**
 * The accepted token whose SHA-256 equals that of `presented`, if any. Every
 * accepted digest is compared, each with `timingSafeEqual`, and the loop
 * never stops early: the time taken does not depend on which digest matched
 * or on how many leading bytes of any digest did. Comparing digests rather
 * than tokens also gives every comparison the same 32-byte length.
 */
function findToken(
	presented: string,
	tokens: readonly ApiToken[],
): ApiToken | undefined {
	const digest = createHash("sha256").update(presented, "utf8").digest();
	let found: ApiToken | undefined;
	for (const token of tokens) {
		if (timingSafeEqual(digest, token.digest)) found ??= token;
	}
	return found;
}

/** Lets a request through only with an accepted bearer token; `tokens` gives the set in force now. */
export function requireBearerToken(tokens: () => readonly ApiToken[]) {
	return async function requireBearerTokenMiddleware(
		ctx: Context,
		next: Next,
	): Promise<void> {
		const header = ctx.get("Authorization");
		const presented = BEARER_CREDENTIALS.exec(header)?.[1];
		const token =
			presented === undefined ? undefined : findToken(presented, tokens());
		if (token === undefined) {
			ctx.set("WWW-Authenticate", BEARER_SCHEME.test(header) ? REFUSED : REALM);
			sendError(ctx, 401, "unauthorized", MESSAGE);
			return;
		}
		ctx.state.tokenName = token.name;
		await next();
	};
}
