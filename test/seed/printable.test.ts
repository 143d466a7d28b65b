import t from "tap";
import {
	findUnprintable,
	MAX_ECHOED_CHARS,
	printable,
} from "../../src/seed/printable.ts";

t.test("printable escapes controls and bidi overrides", async (t) => {
	t.equal(printable("a\u001b[31mb"), "a\\u{1b}[31mb");
	t.equal(printable("x\u202ey\r\n"), "x\\u{202e}y\\u{d}\\u{a}");
	t.equal(printable("Zoë 😀"), "Zoë 😀", "other characters as they are");
});

t.test("printable cuts long text at a character boundary", async (t) => {
	t.equal(printable("é".repeat(200)), `${"é".repeat(MAX_ECHOED_CHARS)}…`);
	t.equal(printable("😀".repeat(10), 3), "😀😀😀…", "no half surrogate pair");
	t.equal(printable("short", 5), "short");
});

t.test("findUnprintable names the first one", async (t) => {
	t.equal(findUnprintable("plain"), undefined);
	t.equal(findUnprintable("a\u2067b\u0001"), "U+2067");
});
