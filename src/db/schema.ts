/** The database as Kysely sees it: the tables the migrations create. */
import type { Generated } from "kysely";

/** `users`, as created by the original challenge's init.sql. */
export interface UsersTable {
	id: Generated<number>;
	name: string;
	email: string;
}

export interface Database {
	users: UsersTable;
}

/** A user as the API returns it. */
export interface User {
	id: number;
	name: string;
	email: string;
}
