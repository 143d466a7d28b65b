import t from "tap";
import { usersUrl } from "../../src/commands/serve.ts";
import { describeShutdown } from "../../src/commands/serve-shutdown.ts";

t.test("the URL to try reaches a wildcard address as localhost", async (t) => {
	t.equal(usersUrl("0.0.0.0", 8080), "http://localhost:8080/users");
	t.equal(usersUrl("::", 8080), "http://localhost:8080/users");
	t.equal(usersUrl("127.0.0.1", 9000), "http://127.0.0.1:9000/users");
	t.equal(usersUrl("::1", 9000), "http://[::1]:9000/users");
	t.equal(usersUrl("api.internal", 80), "http://api.internal:80/users");
});

t.test("the shutdown line says what follows and for how long", async (t) => {
	t.equal(
		describeShutdown(5000, 20_000, false),
		"shutting down: readiness now fails; waiting 5 s for load balancers to notice, then draining in-flight requests for up to 20 s",
	);
	t.equal(
		describeShutdown(0, 1500, false),
		"shutting down: draining in-flight requests for up to 1.5 s",
	);
	t.equal(
		describeShutdown(0, 20_000, true),
		"shutting down: draining in-flight requests for up to 20 s; press Ctrl-C again to exit at once",
	);
});
