/**
 * How far a streaming standby is behind its primary, measured on the standby
 * alone (the app's user can run these functions; no extra privilege, no
 * query to the primary).
 *
 * `now() - pg_last_xact_replay_timestamp()` alone is wrong on an idle
 * primary: it is the age of the last replayed commit, which grows for as
 * long as nobody writes, though the standby has everything. So:
 * - a standby whose WAL receiver runs and has replayed all it received
 *   (`pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()`) is caught up:
 *   lag 0, and the check remembers when it last saw that;
 * - otherwise the lag is the smaller of two upper bounds: the age of the last
 *   replayed commit, and the time since the standby was last seen caught up
 *   (everything it misses arrived after that). The second keeps a first write
 *   after a long idle spell from looking like an hour of lag.
 * Both times are the standby's clock, so the app's clock does not matter.
 */
import { type Kysely, sql } from "kysely";

/** One reading of the standby's replay position. */
export interface ReplaySample {
	/** False for a server that is not in recovery (a primary, or a promoted standby). */
	readonly inRecovery: boolean;
	/** A WAL receiver process is running (it streams from the primary). */
	readonly receiving: boolean;
	/** Everything received has been replayed. */
	readonly replayedAllReceived: boolean;
	/** Seconds since the last replayed commit was committed on the primary; null before the first. */
	readonly replayAgeSeconds: number | null;
	/** The standby's clock, in epoch seconds. */
	readonly nowSeconds: number;
}

/** What a lag measurement remembers between samples. */
export interface LagMemory {
	/** The standby's clock when it was last seen caught up, in epoch seconds. */
	lastCaughtUpSeconds: number | undefined;
}

/** Reads one sample from the standby behind `db`. */
// biome-ignore lint/suspicious/noExplicitAny: the lag query reads no table.
export async function sampleReplay(db: Kysely<any>): Promise<ReplaySample> {
	const { rows } = await sql<{
		in_recovery: boolean;
		receiving: boolean;
		replayed_all_received: boolean;
		replay_age: number | null;
		now: number;
	}>`
    select pg_is_in_recovery() as in_recovery,
      exists (select 1 from pg_stat_wal_receiver) as receiving,
      coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), false)
        as replayed_all_received,
      extract(epoch from now() - pg_last_xact_replay_timestamp())::float8
        as replay_age,
      extract(epoch from now())::float8 as now`.execute(db);
	const row = rows[0];
	if (!row) throw new Error("the replica answered the lag query with no row");
	return {
		inRecovery: row.in_recovery,
		receiving: row.receiving,
		replayedAllReceived: row.replayed_all_received,
		replayAgeSeconds: row.replay_age,
		nowSeconds: row.now,
	};
}

/**
 * The lag, in seconds, that `sample` shows (Infinity when nothing bounds it),
 * updating `memory`. Pure apart from `memory`.
 */
export function computeLagSeconds(
	sample: ReplaySample,
	memory: LagMemory,
): number {
	if (!sample.inRecovery) return 0;
	if (sample.receiving && sample.replayedAllReceived) {
		memory.lastCaughtUpSeconds = sample.nowSeconds;
		return 0;
	}
	const sinceCaughtUp =
		memory.lastCaughtUpSeconds === undefined
			? Number.POSITIVE_INFINITY
			: sample.nowSeconds - memory.lastCaughtUpSeconds;
	const replayAge = sample.replayAgeSeconds ?? Number.POSITIVE_INFINITY;
	return Math.max(0, Math.min(sinceCaughtUp, replayAge));
}
