/**
 * Plain HTTP is allowed only to loopback hosts or registries the config marks insecure; every
 * other registry is spoken to over HTTPS so credentials and manifests are not exposed. The same
 * rule holds for every URL a registry hands us (upload Locations, pagination links).
 */
import { WasmOciError } from "../util/errors.ts";

export function hostWithoutPort(hostPort: string): string {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]");
    return end > 0 ? hostPort.slice(0, end + 1) : hostPort;
  }
  const colon = hostPort.lastIndexOf(":");
  return colon >= 0 && hostPort.indexOf(":") === colon ? hostPort.slice(0, colon) : hostPort;
}

export function isLoopbackHost(hostPort: string): boolean {
  const h = hostWithoutPort(hostPort).toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "[::1]" || h === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function schemeFor(hostPort: string, insecure: boolean): "http" | "https" {
  return insecure || isLoopbackHost(hostPort) ? "http" : "https";
}

/**
 * Refuses a URL a registry sent us (an upload Location, a next-page link) that would be refused
 * for the registry itself: another scheme than http(s), or plain HTTP to a host that is neither
 * loopback nor covered by the registry's `insecure` flag.
 */
export function assertTransportAllowed(url: URL, registry: string, insecure: boolean, what: string): void {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new WasmOciError("INSECURE_URL", `${what}: registry ${registry} sent a ${url.protocol} URL; only https (and http for loopback or insecure registries) is used`);
  }
  if (url.protocol === "http:" && !insecure && !isLoopbackHost(url.host)) {
    throw new WasmOciError(
      "INSECURE_URL",
      `${what}: registry ${registry} sent a plain HTTP URL (http://${url.host}${url.pathname}); refusing to send anything there (mark the registry insecure to allow plain HTTP)`,
    );
  }
}
