// The floor: a bare node:http server with a pg pool and a named statement,
// answering GET /users (same query, same JSON body as sherpany) and
// GET /health (static JSON). Nothing else: no logging, metrics or routing.
//
// Env: DATABASE_URL, PORT, PG_POOL_MAX (default 10, sherpany's default).
import { createServer } from "node:http";
import pg from "pg";

const pool = new pg.Pool({
	connectionString: process.env.DATABASE_URL,
	max: Number(process.env.PG_POOL_MAX ?? 10),
});
const HEALTH = JSON.stringify({ status: "healthy" });
const LIST = {
	name: "floor-list-users",
	text: "select id, name, email from users where id > $1 order by id limit $2",
};

createServer(async (req, res) => {
	const url = new URL(req.url ?? "/", "http://x");
	if (url.pathname === "/health") {
		res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
		res.end(HEALTH);
		return;
	}
	if (url.pathname !== "/users") {
		res.writeHead(404).end();
		return;
	}
	const limit = Number(url.searchParams.get("limit") ?? 100);
	const after = Number(url.searchParams.get("after") ?? 0);
	try {
		const { rows } = await pool.query({ ...LIST, values: [after, limit + 1] });
		res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
		res.end(JSON.stringify(rows.slice(0, limit)));
	} catch {
		res.writeHead(500).end();
	}
}).listen(Number(process.env.PORT), "127.0.0.1");
