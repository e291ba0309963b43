// Types for the two undici modules the HTTP layer loads directly (see oci/undici-core.ts).
declare module "undici/lib/dispatcher/env-http-proxy-agent.js" {
  import type { EnvHttpProxyAgent } from "undici";
  const EnvHttpProxyAgentImpl: typeof EnvHttpProxyAgent;
  export default EnvHttpProxyAgentImpl;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
