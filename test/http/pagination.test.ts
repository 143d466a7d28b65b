/**
 * Keyset pagination of `GET /users`, followed through its `Link` headers, on
 * ids with gaps of every size and with rows inserted and deleted on both
 * sides of the cursor between pages: paging by position (OFFSET) would skip
 * or repeat users here, where consecutive ids and a quiet table hide it.
 */
import t, { type Test } from "tap";
import { startApp, type TestApp } from "../helpers/app.ts";
import { createMigratedDatabase } from "../helpers/migrated-database.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres(t);

/** Ids 1, 4, 9 … 1600: no two consecutive, each gap wider than the last. */
const SQUARES = Array.from({ length: 40 }, (_, i) => (i + 1) ** 2);

function values(ids: readonly number[]): string {
	return ids.map((id) => `(${id}, 'User ${id}', 'u${id}@example.com')`).join();
}

async function squaresDatabase(): Promise<string> {
	const url = await createMigratedDatabase(pg);
	await pg.query(
		url,
		`insert into users (id, name, email) values ${values(SQUARES)}`,
	);
	return url;
}

/** Requests `path` and returns its ids and the path its `Link` points to. */
async function page(
	t: Pick<Test, "equal">,
	app: TestApp,
	path: string,
): Promise<{ ids: number[]; next: string | undefined }> {
	const response = await app.get(path);
	t.equal(response.status, 200, path);
	const ids = ((await response.json()) as { id: number }[]).map(
		(user) => user.id,
	);
	const link = response.headers.get("link");
	const next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
	return { ids, next };
}

t.test(
	"pages over ids with gaps visit every user once, in order",
	async (t) => {
		const app = await startApp(t, await squaresDatabase());
		const seen: number[] = [];
		let next: string | undefined = "/users?limit=7";
		let pages = 0;
		while (next) {
			const { ids, next: following } = await page(t, app, next);
			seen.push(...ids);
			pages += 1;
			if (following)
				t.equal(
					following,
					`/users?limit=7&after=${ids.at(-1)}`,
					"after the last id",
				);
			next = following;
		}
		t.equal(pages, Math.ceil(SQUARES.length / 7));
		t.same(seen, SQUARES);
	},
);

t.test(
	"rows inserted and deleted on both sides of the cursor between pages",
	async (t) => {
		const url = await squaresDatabase();
		const app = await startApp(t, url);
		const exec = (sql: string) => pg.query(url, sql);
		const seen: number[] = [];
		const deletedAhead: number[] = [];
		const insertedAhead: number[] = [];
		let next: string | undefined = "/users?limit=5";
		for (let boundary = 0; next; boundary += 1) {
			const { ids, next: following } = await page(t, app, next);
			seen.push(...ids);
			next = following;
			if (!next) break;
			const cursor = ids.at(-1) ?? 0;
			const existing = (await exec("select id from users order by id")).map(
				(row) => Number(row.id),
			);
			const below = existing.filter((id) => id < cursor);
			const ahead = existing.filter((id) => id > cursor);
			// Alternately one fewer and one more row before the cursor: the
			// position of the next unseen row moves back, then forward.
			if (boundary % 2 === 0) {
				await exec(`delete from users where id = ${below[0] ?? cursor}`);
				// A new row just past the cursor belongs on the next page.
				await exec(
					`insert into users (id, name, email) values ${values([cursor + 1])}`,
				);
				insertedAhead.push(cursor + 1);
			} else {
				// A new row before the cursor was not there when its page was read.
				await exec(
					`insert into users (id, name, email) values ${values([cursor - 1])}`,
				);
				const gone = ahead[1];
				if (gone !== undefined) {
					await exec(`delete from users where id = ${gone}`);
					deletedAhead.push(gone);
				}
			}
		}
		t.ok(deletedAhead.length >= 3, "rows ahead of the cursor were deleted");
		const expected = [...SQUARES, ...insertedAhead]
			.filter((id) => !deletedAhead.includes(id))
			.sort((a, b) => a - b);
		t.same(
			seen,
			expected,
			"every row that was there throughout, or came ahead of the cursor, once and in order",
		);
	},
);
