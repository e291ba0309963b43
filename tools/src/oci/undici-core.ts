/**
 * The part of undici the registry client uses: the proxy-aware agent and `request`.
 *
 * undici's index module loads fetch, WebSocket, cookies, caches and mocks as well, which costs
 * about 30 ms of start-up and 200 KiB of bundle on every command; a 1 MiB pull takes less than
 * that. This module wires the agent and the api functions together exactly as undici's index
 * does (it copies request, stream, pipeline, upgrade and connect onto Dispatcher.prototype;
 * the proxy agent's CONNECT tunnel calls `connect` through it). test/unit/undici-core.test.ts
 * checks they stay the classes and functions the public entry point exports.
 */
import { setFlagsFromString } from "node:v8";
import type { Dispatcher as DispatcherType } from "undici";
import EnvHttpProxyAgentImpl from "undici/lib/dispatcher/env-http-proxy-agent.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import api from "undici/lib/api/index.js";

// undici parses HTTP with llhttp compiled to wasm. After about 1 MiB of response, V8's dynamic
// tiering recompiles llhttp's big parser function with TurboFan on a background thread, and the
// process waits for that job at exit: about 60 ms, more than a 1 MiB pull spends on the network.
// Liftoff's code is fast enough for header parsing (bodies pass through as spans), so a
// short-lived CLI keeps it. The flag is read when a module is compiled; llhttp compiles on the
// first connection. Only registry-talking commands load this module.
setFlagsFromString("--liftoff-only");

Object.assign(Dispatcher.prototype, api);

export const EnvHttpProxyAgent = EnvHttpProxyAgentImpl;

/** `dispatcher.request(options)`, for any Dispatcher (agents, proxies, test mocks). */
export function dispatchRequest(dispatcher: DispatcherType, options: DispatcherType.RequestOptions): Promise<DispatcherType.ResponseData> {
  return dispatcher.request(options);
}
