/** Lines of at most a given length from chunks of any size, with a line too long reported, not kept. */
import t from "tap";
import {
	type BoundedLine,
	boundedLines,
} from "../../src/seed/bounded-lines.ts";

async function collect(
	chunks: readonly string[],
	maxChars: number,
): Promise<BoundedLine[]> {
	const lines: BoundedLine[] = [];
	for await (const line of boundedLines(
		(async function* () {
			yield* chunks;
		})(),
		maxChars,
	))
		lines.push(line);
	return lines;
}

t.test(
	"lines split across chunks, LF and CRLF, last line unterminated",
	async (t) => {
		t.same(await collect(["ab", "c\nde\r", "\nf"], 5), [
			{ line: 1, text: "abc" },
			{ line: 2, text: "de" },
			{ line: 3, text: "f" },
		]);
		t.same(await collect(["a\r\n", "\r\n"], 5), [
			{ line: 1, text: "a" },
			{ line: 2, text: "" },
		]);
		t.same(
			await collect(["x\rx\n"], 5),
			[{ line: 1, text: "x\rx" }],
			"a \\r inside a line stays",
		);
	},
);

t.test(
	"a line of exactly the limit is kept, one more character is too long",
	async (t) => {
		t.same(await collect(["12345\n123456\n"], 5), [
			{ line: 1, text: "12345" },
			{ line: 2, tooLong: true },
		]);
		t.same(
			await collect(["12345\r\n"], 5),
			[{ line: 1, text: "12345" }],
			"with its CRLF",
		);
		t.same(
			await collect(["123456"], 5),
			[{ line: 1, tooLong: true }],
			"unterminated",
		);
		t.same(
			await collect(["1234567"], 5),
			[{ line: 1, tooLong: true }],
			"unterminated, past the \\r allowance",
		);
	},
);

t.test(
	"a long line is reported once, and the lines after it are read",
	async (t) => {
		t.same(await collect(["1234567", "89", "0\nok\n"], 5), [
			{ line: 1, tooLong: true },
			{ line: 2, text: "ok" },
		]);
		t.same(
			await collect(["1234567", "89012345", "\nok\n"], 5),
			[
				{ line: 1, tooLong: true },
				{ line: 2, text: "ok" },
			],
			"however long the rest",
		);
		t.same(await collect(["12345678\nab"], 5), [
			{ line: 1, tooLong: true },
			{ line: 2, text: "ab" },
		]);
		t.same(
			await collect(["12345678", "xyz"], 5),
			[{ line: 1, tooLong: true }],
			"the rest of an unterminated long line is dropped",
		);
	},
);
