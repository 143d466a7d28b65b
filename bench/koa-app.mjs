// The minimal Koa baselines: a Koa + @koa/router app with the floor's pg
// query, and no logging, metrics or error mapping. With
// KOA_BODY=postgres, PostgreSQL builds the JSON array (PostgREST's method)
// and Koa sends that text as it is: the fourth baseline.
//
// Env: DATABASE_URL, PORT, PG_POOL_MAX (default 10, sherpany's default),
// KOA_BODY (node, the default, or postgres).
import { Router } from "@koa/router";
import Koa from "koa";
import pg from "pg";

const pool = new pg.Pool({
	connectionString: process.env.DATABASE_URL,
	max: Number(process.env.PG_POOL_MAX ?? 10),
});
const byPostgres = process.env.KOA_BODY === "postgres";
const app = new Koa();
const router = new Router();
router.get("/health", (ctx) => {
	ctx.body = { status: "healthy" };
});
router.get("/users", async (ctx) => {
	const limit = Number(ctx.query.limit ?? 100);
	const after = Number(ctx.query.after ?? 0);
	if (byPostgres) {
		const { rows } = await pool.query({
			name: "koa-list-users-json",
			text: "select coalesce('[' || string_agg(row_to_json(u)::text, ',' order by u.id) || ']', '[]') as body from (select id, name, email from users where id > $1 order by id limit $2) u",
			values: [after, limit],
		});
		ctx.type = "application/json";
		ctx.body = rows[0].body;
		return;
	}
	const { rows } = await pool.query({
		name: "koa-list-users",
		text: "select id, name, email from users where id > $1 order by id limit $2",
		values: [after, limit + 1],
	});
	ctx.body = rows.slice(0, limit);
});
app.use(router.routes());
app.listen(Number(process.env.PORT), "127.0.0.1");
