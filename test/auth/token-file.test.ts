import { createHash } from "node:crypto";
import t from "tap";
import { parseTokenFile } from "../../src/auth/token-file.ts";
import { ConfigError } from "../../src/exit-codes.ts";

const SOURCE = "API_TOKENS_FILE: /run/tokens";
const sha256 = (text: string): string =>
	createHash("sha256").update(text).digest("hex");
const ALICE = sha256("alice-token");
const BOB = sha256("bob-token");

/** The message of the ConfigError that parsing `text` throws. */
function failure(text: string): string {
	try {
		parseTokenFile(text, SOURCE);
	} catch (error) {
		if (error instanceof ConfigError) return error.message;
		throw error;
	}
	throw new Error("parsed without an error");
}

t.test("hashes with names, blank lines and comments", async (t) => {
	const tokens = parseTokenFile(
		`# who may read /users\n${ALICE} alice laptop\n\n   \n${BOB.toUpperCase()}\tci-bot\n`,
		SOURCE,
	);
	t.same(
		tokens.map((token) => [token.digest.toString("hex"), token.name]),
		[
			[ALICE, "alice laptop"],
			[BOB, "ci-bot"],
		],
		"upper-case hex is the same hash",
	);
});

t.test("a line without a name gets the hash's first digits", async (t) => {
	const [token] = parseTokenFile(`${ALICE}\n`, SOURCE);
	t.equal(token?.name, `sha256:${ALICE.slice(0, 8)}`);
	const [piped] = parseTokenFile(`${ALICE}  -\n`, SOURCE);
	t.equal(
		piped?.name,
		`sha256:${ALICE.slice(0, 8)}`,
		"sha256sum's '-' (standard input) is not a name",
	);
});

t.test("Windows line endings and a byte-order mark work", async (t) => {
	const tokens = parseTokenFile(
		`\uFEFF${ALICE} alice\r\n${BOB} bob\r\n`,
		SOURCE,
	);
	t.same(
		tokens.map((token) => token.name),
		["alice", "bob"],
	);
	t.equal(tokens[0]?.digest.toString("hex"), ALICE);
});

t.test("an empty file, or one of comments only, is refused", async (t) => {
	for (const text of ["", "\n", "\r\n\r\n", "# nobody yet\n"]) {
		t.match(
			failure(text),
			/^API_TOKENS_FILE: \/run\/tokens holds no token hash, so no request could pass/,
			JSON.stringify(text),
		);
	}
});

t.test("bad lines name the file and the line, not the text", async (t) => {
	const cases: [string, RegExp][] = [
		[
			`${ALICE}\nnot-a-hash alice\n`,
			/, line 2: the first field is not a hexadecimal SHA-256 hash;/,
		],
		[
			`${ALICE.slice(1)}\n`,
			/, line 1: the hash has 63 hex digits, a SHA-256 hash has 64;/,
		],
		[`${ALICE}0 alice\n`, /, line 1: the hash has 65 hex digits/],
		[
			`\n\n${ALICE.replace(/^./, "g")}\n`,
			/, line 3: the first field is not a hexadecimal/,
		],
		[`${ALICE} a\n${ALICE} b\n`, /, line 2: the same hash as line 1;/],
		[
			`${ALICE} ${"x".repeat(129)}\n`,
			/, line 1: the name is longer than 128 characters/,
		],
		[`${ALICE} bad\u0007name\n`, /, line 1: the name has a control character/],
	];
	for (const [text, expected] of cases) {
		const message = failure(text);
		t.match(message, /^API_TOKENS_FILE: \/run\/tokens, line \d+: /);
		t.match(message, expected);
		t.notMatch(message, ALICE.slice(8, 40), "the line's text is not echoed");
	}
});

t.test(
	"a token pasted in place of its hash is refused without being echoed",
	async (t) => {
		// `openssl rand -base64 32`: not hex, so it cannot be mistaken for a hash.
		const token = "q2Zc1v7mJ0bX3nK9sT4wYp8uH6rL5aE1dF0gI2jO3kM=";
		const message = failure(`${token}\n`);
		t.match(
			message,
			/line 1: the first field is not a hexadecimal SHA-256 hash/,
		);
		t.notMatch(message, token.slice(0, 12));
	},
);
