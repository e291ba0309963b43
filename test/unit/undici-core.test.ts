import { describe, expect, it } from "vitest";
import * as undici from "undici";
import { EnvHttpProxyAgent, dispatchRequest } from "../../tools/src/oci/undici-core.ts";
import { MockAgent } from "undici";

// The HTTP layer loads two undici modules directly to keep start-up small; an undici upgrade that
// moves them must fail here, not in a user's pull.
describe("undici-core", () => {
  it("is the EnvHttpProxyAgent the public entry point exports", () => {
    expect(EnvHttpProxyAgent).toBe(undici.EnvHttpProxyAgent);
  });

  it("dispatchRequest behaves as Dispatcher.prototype.request on a mock", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent.get("http://127.0.0.1:1").intercept({ path: "/v2/", method: "GET" }).reply(200, "ok", { headers: { "x-t": "1" } });
    const res = await dispatchRequest(agent, { origin: "http://127.0.0.1:1", path: "/v2/", method: "GET" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-t"]).toBe("1");
    expect(await res.body.text()).toBe("ok");
    await agent.close();
  });
});

describe("undici-core prototype wiring", () => {
  it("gives every dispatcher the api methods undici's index gives it (the proxy tunnel uses connect)", () => {
    const agent = new EnvHttpProxyAgent({});
    for (const m of ["request", "stream", "pipeline", "upgrade", "connect"] as const) expect(typeof agent[m]).toBe("function");
    void agent.close();
  });
});
