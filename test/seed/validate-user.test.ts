import t from "tap";
import {
	MAX_FIELD_LENGTH,
	validateUser,
} from "../../src/seed/validate-user.ts";

t.test(
	"a good row gives the user, trimmed, without extra fields",
	async (t) => {
		t.same(validateUser({ name: "Ada Lovelace", email: "ada@example.org" }), {
			name: "Ada Lovelace",
			email: "ada@example.org",
		});
		t.same(
			validateUser({ name: "  Ada ", email: "\tada@example.org ", id: 7 }),
			{ name: "Ada", email: "ada@example.org" },
		);
	},
);

t.test("missing, empty and non-string fields", async (t) => {
	const email = "ada@example.org";
	t.equal(validateUser({ email }), "missing name");
	t.equal(validateUser({ name: null, email }), "missing name");
	t.equal(validateUser({ name: "", email }), "missing name");
	t.equal(validateUser({ name: "   ", email }), "missing name");
	t.equal(validateUser({ name: "Ada" }), "missing email");
	t.equal(validateUser({ name: "Ada", email: "" }), "missing email");
	t.equal(validateUser({}), "missing name", "name is checked first");
	t.equal(validateUser({ name: 42, email }), "name must be a string");
	t.equal(validateUser({ name: ["Ada"], email }), "name must be a string");
	t.equal(validateUser({ name: "Ada", email: true }), "email must be a string");
	t.equal(
		validateUser({ name: "Ada", email: { at: "x" } }),
		"email must be a string",
	);
});

t.test("a NUL character, which PostgreSQL text cannot hold", async (t) => {
	const email = "ada@example.org";
	t.equal(
		validateUser({ name: "bad\u0000nul", email }),
		"name contains a NUL character",
	);
	t.equal(
		validateUser({ name: "\u0000", email }),
		"name contains a NUL character",
		"a NUL is not blank",
	);
	t.equal(
		validateUser({ name: "Ada", email: "ada\u0000@example.org" }),
		"email contains a NUL character",
		"caught before the email check, which would print it",
	);
});

t.test("at most 100 characters, counted as characters", async (t) => {
	t.equal(MAX_FIELD_LENGTH, 100);
	const email = "ada@example.org";
	t.same(validateUser({ name: "a".repeat(100), email }), {
		name: "a".repeat(100),
		email,
	});
	t.equal(
		validateUser({ name: "a".repeat(101), email }),
		"name is longer than 100 characters",
	);
	t.same(
		validateUser({ name: "é".repeat(100), email }),
		{ name: "é".repeat(100), email },
		"100 two-byte characters fit",
	);
	t.equal(
		validateUser({ name: "é".repeat(101), email }),
		"name is longer than 100 characters",
	);
	const emoji = "😀".repeat(100);
	t.equal(emoji.length, 200, "200 UTF-16 units");
	t.same(
		validateUser({ name: emoji, email }),
		{ name: emoji, email },
		"100 astral characters fit",
	);
	t.same(
		validateUser({ name: ` ${"a".repeat(100)} `, email }),
		{ name: "a".repeat(100), email },
		"the length is measured after trimming",
	);
	const longEmail = `${"a".repeat(88)}@example.org`;
	t.equal(longEmail.length, 100);
	t.same(validateUser({ name: "Ada", email: longEmail }), {
		name: "Ada",
		email: longEmail,
	});
	t.equal(
		validateUser({ name: "Ada", email: `a${longEmail}` }),
		"email is longer than 100 characters",
	);
});

t.test("a bad email", async (t) => {
	for (const email of [
		"ada",
		"ada@",
		"@example.org",
		"ada@@example.org",
		"a da@example.org",
		"ada@exa mple.org",
	]) {
		t.equal(
			validateUser({ name: "Ada", email }),
			`email "${email}" is not an email address`,
			email,
		);
	}
	t.same(validateUser({ name: "Ada", email: "ada@localhost" }), {
		name: "Ada",
		email: "ada@localhost",
	});
});

t.test(
	"control and bidirectional characters are refused, by code point",
	async (t) => {
		const email = "ada@example.org";
		const cases: [string, string][] = [
			["Ada\u001b[2JLovelace", "U+001B"],
			["Ada\tLovelace", "U+0009"],
			["Ada\rLovelace", "U+000D"],
			["Ada\u007fLovelace", "U+007F"],
			["Ada\u0085Lovelace", "U+0085"],
			["Ada\u009bLovelace", "U+009B"],
			["\u202eecalevoL adA", "U+202E"],
			["Ada\u202aLovelace", "U+202A"],
			["Ada\u2066Lovelace\u2069", "U+2066"],
			["Ada\u2069Lovelace", "U+2069"],
			["Ada\u200fLovelace", "U+200F"],
			["Ada\u061cLovelace", "U+061C"],
			["Ada\u2028Lovelace", "U+2028"],
		];
		for (const [name, codePoint] of cases) {
			t.equal(
				validateUser({ name, email }),
				`name contains the control character ${codePoint}`,
				codePoint,
			);
		}
		t.equal(
			validateUser({ name: "Ada", email: "ada\u202e@example.org" }),
			"email contains the control character U+202E",
		);
		t.same(
			validateUser({ name: "می\u200cخواهم", email }),
			{ name: "می\u200cخواهم", email },
			"ZWNJ, which Persian names need, is allowed",
		);
	},
);

t.test(
	"an email that is no address is shown escaped and cut short",
	async (t) => {
		t.equal(
			validateUser({ name: "Ada", email: `${"x".repeat(99)}y` }),
			`email "${"x".repeat(80)}…" is not an email address`,
		);
	},
);
