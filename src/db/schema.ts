/** The database as Kysely sees it: the tables the migrations create. */
import type { Generated, Insertable, Selectable } from "kysely";

/** `users`, as created by the original challenge's init.sql. */
interface UsersTable {
	id: Generated<number>;
	name: string;
	email: string;
}

export interface Database {
	users: UsersTable;
}

/** A user as the API returns it: a row of `users`. */
export type User = Selectable<UsersTable>;

/** A user to insert: the database assigns the id. */
export type NewUser = Insertable<UsersTable>;
