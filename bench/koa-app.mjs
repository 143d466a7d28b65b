// The second baseline: a minimal Koa + @koa/router app with the floor's pg
// query, and no logging, metrics or error mapping.
//
// Env: DATABASE_URL, PORT, PG_POOL_MAX (default 10, sherpany's default).
import { Router } from "@koa/router";
import Koa from "koa";
import pg from "pg";

const pool = new pg.Pool({
	connectionString: process.env.DATABASE_URL,
	max: Number(process.env.PG_POOL_MAX ?? 10),
});
const app = new Koa();
const router = new Router();
router.get("/health", (ctx) => {
	ctx.body = { status: "healthy" };
});
router.get("/users", async (ctx) => {
	const limit = Number(ctx.query.limit ?? 100);
	const after = Number(ctx.query.after ?? 0);
	const { rows } = await pool.query({
		name: "koa-list-users",
		text: "select id, name, email from users where id > $1 order by id limit $2",
		values: [after, limit + 1],
	});
	ctx.body = rows.slice(0, limit);
});
app.use(router.routes());
app.listen(Number(process.env.PORT), "127.0.0.1");
