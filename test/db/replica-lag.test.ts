import t from "tap";
import {
	computeLagSeconds,
	type LagMemory,
	type ReplaySample,
} from "../../src/db/replica-lag.ts";

const sample = (overrides: Partial<ReplaySample>): ReplaySample => ({
	inRecovery: true,
	receiving: true,
	replayedAllReceived: true,
	replayAgeSeconds: 3600,
	nowSeconds: 1000,
	...overrides,
});

t.test(
	"an idle primary is not lag: caught up is 0 however old the last commit",
	async (t) => {
		const memory: LagMemory = { lastCaughtUpSeconds: undefined };
		t.equal(computeLagSeconds(sample({ replayAgeSeconds: 3600 }), memory), 0);
		t.equal(memory.lastCaughtUpSeconds, 1000, "remembers when");
	},
);

t.test(
	"behind: the smaller of the last commit's age and the time since caught up",
	async (t) => {
		const memory: LagMemory = { lastCaughtUpSeconds: 1000 };
		// A write after an hour of idle: the last replayed commit is an hour old,
		// but the standby had everything a second ago.
		t.equal(
			computeLagSeconds(
				sample({
					replayedAllReceived: false,
					replayAgeSeconds: 3600,
					nowSeconds: 1001,
				}),
				memory,
			),
			1,
		);
		// Busy primary, replay behind: the commit age is the tighter bound.
		t.equal(
			computeLagSeconds(
				sample({
					replayedAllReceived: false,
					replayAgeSeconds: 2.5,
					nowSeconds: 1010,
				}),
				memory,
			),
			2.5,
		);
		t.equal(memory.lastCaughtUpSeconds, 1000, "unchanged while behind");
	},
);

t.test(
	"no WAL receiver: everything received may be replayed, yet WAL is missing",
	async (t) => {
		const memory: LagMemory = { lastCaughtUpSeconds: 990 };
		t.equal(
			computeLagSeconds(
				sample({ receiving: false, replayAgeSeconds: 600, nowSeconds: 1000 }),
				memory,
			),
			10,
			"bounded by the last time it was seen streaming and caught up",
		);
		t.equal(
			computeLagSeconds(sample({ receiving: false, replayAgeSeconds: null }), {
				lastCaughtUpSeconds: undefined,
			}),
			Number.POSITIVE_INFINITY,
			"nothing bounds it before the first commit is replayed",
		);
	},
);

t.test("a server not in recovery has no lag", async (t) => {
	t.equal(
		computeLagSeconds(
			sample({
				inRecovery: false,
				receiving: false,
				replayedAllReceived: false,
				replayAgeSeconds: null,
			}),
			{ lastCaughtUpSeconds: undefined },
		),
		0,
	);
});

t.test("clock skew never makes the lag negative", async (t) => {
	t.equal(
		computeLagSeconds(
			sample({ replayedAllReceived: false, replayAgeSeconds: -0.3 }),
			{ lastCaughtUpSeconds: 1000 },
		),
		0,
	);
});
