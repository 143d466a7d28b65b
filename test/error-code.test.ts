import t from "tap";
import { errorCode, errorReason } from "../src/error-code.ts";

t.test("errorCode reads a string code, and nothing else", async (t) => {
	const refused = Object.assign(new Error("connect ECONNREFUSED"), {
		code: "ECONNREFUSED",
	});
	t.equal(errorCode(refused), "ECONNREFUSED");
	t.equal(errorCode({ code: "42P01" }), "42P01", "a plain object's too");
	t.equal(errorCode(Object.assign(new Error("x"), { code: 42 })), undefined);
	t.equal(errorCode(new Error("no code")), undefined);
	for (const value of [undefined, null, "ENOENT", 7])
		t.equal(errorCode(value), undefined, String(value));
});

t.test("errorReason is the code, else the message", async (t) => {
	t.equal(
		errorReason(Object.assign(new Error("no such file"), { code: "ENOENT" })),
		"ENOENT",
	);
	t.equal(errorReason(new Error("disk on fire")), "disk on fire");
	t.equal(errorReason("a string"), "a string");
});
