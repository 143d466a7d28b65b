import pino from "pino";
import t from "tap";
import { type Closer, closeAll } from "../src/closers.ts";

t.test("closeAll runs the closers last-opened first", async (t) => {
	const closed: string[] = [];
	const closer =
		(name: string): Closer =>
		async () => {
			closed.push(name);
		};
	const closers = [closer("tokens"), closer("database"), closer("listeners")];
	const given = [...closers];
	await closeAll(closers, pino({ level: "silent" }));
	t.same(closed, ["listeners", "database", "tokens"]);
	t.ok(
		closers.every((close, index) => close === given[index]),
		"the caller's list is left in its order",
	);
});

t.test("a closer that fails is logged and the rest still run", async (t) => {
	const closed: string[] = [];
	const logged: string[] = [];
	const logger = pino(
		{ level: "error" },
		{
			write: (line: string) => void logged.push(line),
		},
	);
	await closeAll(
		[
			async () => void closed.push("first"),
			async () => {
				throw new Error("stuck");
			},
		],
		logger,
	);
	t.same(closed, ["first"]);
	t.equal(logged.length, 1);
	t.match(logged[0], /error while closing/);
});
