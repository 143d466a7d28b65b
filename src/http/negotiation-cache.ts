/**
 * Content negotiation answered once per distinct `Accept` value. Clients
 * send the same few values again and again, and negotiating (parsing the
 * header, ranking its media ranges) cost more than looking the answer up.
 * The first `MAX_ACCEPT_VALUES` distinct values are kept; others are
 * negotiated each time, so a client sending ever new values cannot grow it.
 */
import type { Context } from "koa";

/** Distinct `Accept` values whose answer is kept. */
export const MAX_ACCEPT_VALUES = 64;

/** Which of `types` the request accepts best (Koa's `ctx.accepts`), or false; cached by `Accept` value. */
export function cachedNegotiation(
	...types: string[]
): (ctx: Context) => string | false {
	const answers = new Map<string | undefined, string | false>();
	return (ctx) => {
		const accept = ctx.req.headers.accept;
		let answer = answers.get(accept);
		if (answer === undefined) {
			answer = ctx.accepts(types);
			if (answers.size < MAX_ACCEPT_VALUES) answers.set(accept, answer);
		}
		return answer;
	};
}
