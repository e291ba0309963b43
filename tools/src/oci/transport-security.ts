/**
 * Plain HTTP is allowed only to loopback hosts or registries the config marks insecure; every
 * other registry is spoken to over HTTPS so credentials and manifests are not exposed.
 */
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
