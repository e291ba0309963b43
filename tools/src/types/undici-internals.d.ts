// Types for the undici modules the HTTP layer loads directly (see oci/undici-core.ts).
declare module "undici/lib/dispatcher/env-http-proxy-agent.js" {
  import type { EnvHttpProxyAgent } from "undici";
  const EnvHttpProxyAgentImpl: typeof EnvHttpProxyAgent;
  export default EnvHttpProxyAgentImpl;
}

declare module "undici/lib/dispatcher/dispatcher.js" {
  import type { Dispatcher } from "undici";
  const DispatcherImpl: typeof Dispatcher;
  export default DispatcherImpl;
}

declare module "undici/lib/api/index.js" {
  const api: Record<"request" | "stream" | "pipeline" | "upgrade" | "connect", (...args: never[]) => unknown>;
  export default api;
}
