/**
 * Negotiation cached per `Accept` value (src/http/negotiation-cache.ts):
 * the same answer as Koa's `ctx.accepts` for any header, each value
 * negotiated once, and no more than MAX_ACCEPT_VALUES values kept.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import fc from "fast-check";
import Koa, { type Context } from "koa";
import t from "tap";
import {
	cachedNegotiation,
	MAX_ACCEPT_VALUES,
} from "../../src/http/negotiation-cache.ts";

const TYPES = ["application/json", "application/x-ndjson"];
const app = new Koa();

/** A Koa context for a request with `accept`, counting its negotiations. */
function contextFor(accept: string | undefined, counter: { count: number }) {
	const req = new IncomingMessage(new Socket());
	if (accept !== undefined) req.headers.accept = accept;
	const ctx = app.createContext(req, new ServerResponse(req)) as Context;
	const accepts = ctx.accepts.bind(ctx);
	ctx.accepts = ((...args: Parameters<Context["accepts"]>) => {
		counter.count++;
		return accepts(...args);
	}) as Context["accepts"];
	return ctx;
}

const mediaRange = fc.constantFrom(
	"application/json",
	"application/x-ndjson",
	"application/*",
	"*/*",
	"text/html",
	"application/x-ndjson;q=0",
	"application/json;q=0.5",
	"application/x-ndjson;q=0.9",
	"garbage",
	"",
);
const accept = fc.option(
	fc.array(mediaRange, { maxLength: 4 }).map((ranges) => ranges.join(", ")),
	{ nil: undefined },
);

t.test(
	"the same answers as ctx.accepts, each value negotiated once",
	async (t) => {
		fc.assert(
			fc.property(fc.array(accept, { maxLength: 30 }), (values) => {
				const negotiate = cachedNegotiation(...TYPES);
				const counter = { count: 0 };
				const seen = new Set<string | undefined>();
				for (const value of values) {
					const expected = contextFor(value, { count: 0 }).accepts(TYPES);
					const before = counter.count;
					const got = negotiate(contextFor(value, counter));
					if (got !== expected)
						throw new Error(`${value}: ${got} !== ${expected}`);
					const negotiated = counter.count - before;
					if (negotiated !== (seen.has(value) ? 0 : 1))
						throw new Error(`${value}: negotiated ${negotiated} times`);
					seen.add(value);
				}
			}),
			{ numRuns: 300 },
		);
		t.pass("300 sequences of Accept values");
	},
);

t.test("values past the bound are negotiated every time", async (t) => {
	const negotiate = cachedNegotiation(...TYPES);
	const counter = { count: 0 };
	for (let i = 0; i < MAX_ACCEPT_VALUES; i++)
		negotiate(contextFor(`application/json, text/x-${i}`, counter));
	t.equal(counter.count, MAX_ACCEPT_VALUES);
	negotiate(contextFor("application/json, text/x-0", counter));
	t.equal(
		counter.count,
		MAX_ACCEPT_VALUES,
		"a kept value is not negotiated again",
	);
	const past = "application/x-ndjson, text/x-past";
	t.equal(negotiate(contextFor(past, counter)), "application/x-ndjson");
	t.equal(negotiate(contextFor(past, counter)), "application/x-ndjson");
	t.equal(counter.count, MAX_ACCEPT_VALUES + 2, "one past the bound: twice");
});
