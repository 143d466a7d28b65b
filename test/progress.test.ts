import t from "tap";
import {
	createProgress,
	formatDuration,
	formatProgress,
} from "../src/progress.ts";

t.test("a progress line shows the rate and the time left", async (t) => {
	t.equal(
		formatProgress("users inserted", 1_440_000, 3_000_000, 30_000),
		"users inserted: 48% 1440000/3000000, 48,000/s, 33 s left",
	);
	t.equal(
		formatProgress("users inserted", 10_000, 1_000_000, 2_000),
		"users inserted: 1% 10000/1000000, 5,000/s, 3 min 18 s left",
	);
	t.equal(
		formatProgress("users inserted", 1_000, 100_000_000, 1_000),
		"users inserted: 0% 1000/100000000, 1,000/s, 27 h 46 min left",
	);
	t.equal(
		formatProgress("users inserted", 25_000, 25_000, 1_000),
		"users inserted: 100% 25000/25000, 25,000/s",
		"no time left once done",
	);
	t.equal(
		formatProgress("rows read", 12_000, undefined, 4_000),
		"rows read: 12000, 3,000/s",
		"no percentage or time left without a total",
	);
	t.equal(
		formatProgress("users inserted", 10, 100, 50),
		"users inserted: 10% 10/100",
		"no rate in the first moments, where it is noise",
	);
	t.equal(
		formatProgress("users inserted", 0, 100, 5_000),
		"users inserted: 0% 0/100",
		"no rate before the first unit",
	);
});

t.test("durations read as seconds, minutes or hours", async (t) => {
	t.equal(formatDuration(0.2), "1 s", "rounded up");
	t.equal(formatDuration(59), "59 s");
	t.equal(formatDuration(60), "1 min 00 s");
	t.equal(formatDuration(3599.5), "1 h 00 min");
	t.equal(formatDuration(7_260), "2 h 01 min");
});

t.test(
	"the line redraws at most every 100 ms, and always at the end",
	async (t) => {
		let clock = 0;
		const drawn: string[] = [];
		const progress = createProgress(
			{ isTTY: true, write: (chunk: string) => void drawn.push(chunk) },
			"users inserted",
			300,
			() => clock,
		);
		progress.update(100);
		clock = 50;
		progress.update(150);
		clock = 1000;
		progress.update(200);
		clock = 1010;
		progress.update(300);
		progress.finish();
		t.same(drawn, [
			"\r\x1b[Kusers inserted: 33% 100/300",
			"\r\x1b[Kusers inserted: 66% 200/300, 200/s, 1 s left",
			"\r\x1b[Kusers inserted: 100% 300/300, 297/s",
			"\r\x1b[K",
		]);
	},
);

t.test("nothing is drawn when the stream is not a terminal", async (t) => {
	const drawn: string[] = [];
	const progress = createProgress(
		{ isTTY: false, write: (chunk: string) => void drawn.push(chunk) },
		"rows read",
	);
	progress.update(5);
	progress.finish();
	t.same(drawn, []);
});
