/**
 * The example components and apps of examples/ as tables, shared by the CLI-level example test
 * (test/integration/examples-components.test.ts) and the differential suite (test/differential):
 * each component's WAT + WIT + world, what each answers alone, and each app's WAC (as the Bazel
 * targets write it), its component-model nesting and the calls it must answer.
 */
import { readFile } from "node:fs/promises";
import { parse, print } from "@bytecodealliance/jco-transpile/wasm-tools";
import { join } from "node:path";
import { REPO_ROOT } from "./cli.ts";

export const EX = join(REPO_ROOT, "examples");
export const COMPOSITION_WIT = join(EX, "wac_oci_composition", "wit");

export interface Source {
  wat: string;
  wit: string;
  world: string;
}

/** Every component of the examples, by the name the tests use. */
export const COMPONENTS: Record<string, Source> = {
  "auth-service": { wat: "wac_oci_composition/src/auth_service.wat", wit: COMPOSITION_WIT, world: "auth-service" },
  "data-service": { wat: "wac_oci_composition/src/data_service.wat", wit: COMPOSITION_WIT, world: "data-service" },
  "signed-service": { wat: "wac_oci_composition/src/signed_service.wat", wit: COMPOSITION_WIT, world: "data-service" },
  "catalog-service": { wat: "wac_oci_composition/src/catalog_service.wat", wit: COMPOSITION_WIT, world: "catalog-service" },
  "payment-service": { wat: "wac_oci_composition/src/payment_service.wat", wit: COMPOSITION_WIT, world: "payment-service" },
  "sensor-service": { wat: "wac_oci_composition/src/sensor_service.wat", wit: COMPOSITION_WIT, world: "sensor-service" },
  "telemetry-service": { wat: "wac_oci_composition/src/telemetry_service.wat", wit: COMPOSITION_WIT, world: "telemetry-service" },
  "mock-auth": { wat: "wac_oci_composition/src/mock_auth.wat", wit: COMPOSITION_WIT, world: "auth-service" },
  "mock-data": { wat: "wac_oci_composition/src/mock_data.wat", wit: COMPOSITION_WIT, world: "data-service" },
  frontend: { wat: "wac_oci_composition/src/frontend.wat", wit: COMPOSITION_WIT, world: "frontend" },
  gateway: { wat: "wac_oci_composition/src/gateway.wat", wit: COMPOSITION_WIT, world: "gateway" },
  hello: { wat: "oci_publishing/src/hello.wat", wit: join(EX, "oci_publishing", "wit", "hello.wit"), world: "hello" },
};

export const IFACE = (name: string) => `wasm-examples:services/${name}`;

/** Each component alone: the call and its answer. */
export const ALONE: Array<[string, string, string]> = [
  ["auth-service", `${IFACE("auth")}#authenticate("alice")`, "token(alice)"],
  ["data-service", `${IFACE("data")}#fetch("orders")`, "data(orders)"],
  ["signed-service", `${IFACE("data")}#fetch("orders")`, "signed-data(orders)"],
  ["catalog-service", `${IFACE("catalog")}#lookup("book")`, "catalog(book)"],
  ["payment-service", `${IFACE("payment")}#charge("order-1")`, "paid(order-1)"],
  ["sensor-service", `${IFACE("sensors")}#read("thermo-1")`, "reading(thermo-1)"],
  ["mock-auth", `${IFACE("auth")}#authenticate("dev")`, "mock-token(dev)"],
  ["mock-data", `${IFACE("data")}#fetch("orders")`, "mock-data(orders)"],
  ["hello", `greet("Bazel")`, "Hello, Bazel!"],
];

export interface App {
  /** WAC package name -> component name. Local components are local:KEY, pulled ones oci:KEY (as the Bazel rule names them). */
  deps: Record<string, string>;
  /** The WAC the Bazel target uses; "generate" = none, the rule runs `wasm-oci wac generate`. */
  wac: (() => Promise<string>) | "generate";
  /** Nesting: instance -> [component, {import: instance}] in instantiation order, then exports. */
  nest: Array<[string, string, Record<string, string>]>;
  exports: string[];
  calls: Array<[string, string]>;
}

/** The FRONTEND_APP composition of examples/wac_oci_composition/BUILD.bazel with its two package names. */
export async function frontendApp(auth: string, data: string): Promise<string> {
  const build = await readFile(join(EX, "wac_oci_composition", "BUILD.bazel"), "utf8");
  const m = /FRONTEND_APP = """([\s\S]*?)"""/.exec(build);
  if (!m) throw new Error("FRONTEND_APP not found in examples/wac_oci_composition/BUILD.bazel");
  const parts = [auth, data];
  return m[1]!.replace(/%s/g, () => parts.shift()!);
}

export const APPS: Record<string, App> = {
  basic_distributed_app: {
    deps: { "oci:auth": "auth-service", "oci:data": "data-service", "local:frontend": "frontend" },
    wac: "generate",
    nest: [["a", "auth-service", {}], ["d", "data-service", {}], ["f", "frontend", { auth: "a", data: "d" }]],
    exports: ["f:handle"],
    calls: [[`handle("alice", "orders")`, "token(alice) -> data(orders)"]],
  },
  secure_distributed_app: {
    deps: { "oci:auth": "auth-service", "oci:data": "signed-service", "local:frontend": "frontend" },
    wac: () => frontendApp("oci:auth", "oci:data"),
    nest: [["a", "auth-service", {}], ["d", "signed-service", {}], ["f", "frontend", { auth: "a", data: "d" }]],
    exports: ["f:handle"],
    calls: [[`handle("alice", "orders")`, "token(alice) -> signed-data(orders)"]],
  },
  ecommerce_app: {
    deps: { "oci:catalog": "catalog-service", "oci:payment": "payment-service", "local:frontend": "gateway" },
    wac: "generate",
    nest: [["c", "catalog-service", {}], ["p", "payment-service", {}], ["g", "gateway", { catalog: "c", payment: "p" }]],
    exports: ["g:checkout"],
    calls: [[`checkout("book")`, "order(paid(catalog(book)))"]],
  },
  iot_platform: {
    deps: { "oci:sensors": "sensor-service", "oci:telemetry": "telemetry-service", "oci:device-auth": "auth-service", "local:dashboard": "frontend" },
    wac: async () => compositionOf(await buildFile(), "iot_platform"),
    nest: [["s", "sensor-service", {}], ["t", "telemetry-service", { sensors: "s" }], ["a", "auth-service", {}], ["f", "frontend", { auth: "a", data: "t" }]],
    exports: ["f:handle"],
    calls: [[`handle("device-7", "thermo-1")`, "token(device-7) -> telemetry(reading(thermo-1))"]],
  },
  enterprise_system: {
    deps: {
      "oci:auth-service": "auth-service",
      "oci:data-service": "data-service",
      "oci:catalog-service": "catalog-service",
      "oci:payment-service": "payment-service",
      "local:frontend": "frontend",
      "local:gateway": "gateway",
    },
    wac: () => readFile(join(EX, "wac_oci_composition", "compositions", "enterprise.wac"), "utf8"),
    nest: [
      ["a", "auth-service", {}],
      ["d", "data-service", {}],
      ["c", "catalog-service", {}],
      ["p", "payment-service", {}],
      ["f", "frontend", { auth: "a", data: "d" }],
      ["g", "gateway", { catalog: "c", payment: "p" }],
    ],
    exports: ["f:handle", "g:checkout"],
    calls: [
      [`handle("carol", "invoices")`, "token(carol) -> data(invoices)"],
      [`checkout("laptop")`, "order(paid(catalog(laptop)))"],
    ],
  },
  app_development: {
    deps: { "local:auth": "mock-auth", "local:data": "mock-data", "local:frontend": "frontend" },
    wac: () => frontendApp("local:auth", "local:data"),
    nest: [["a", "mock-auth", {}], ["d", "mock-data", {}], ["f", "frontend", { auth: "a", data: "d" }]],
    exports: ["f:handle"],
    calls: [[`handle("dev", "orders")`, "mock-token(dev) -> mock-data(orders)"]],
  },
};

export const buildFile = () => readFile(join(EX, "wac_oci_composition", "BUILD.bazel"), "utf8");

/** The WAC text of a `composition = """..."""` attribute of a target in a BUILD file. */
export function compositionOf(build: string, target: string): string {
  const start = build.indexOf(`name = "${target}"`);
  const block = build.slice(start, build.indexOf("\n)\n", start));
  const m = /composition = """([\s\S]*?)"""/.exec(block);
  if (start < 0 || !m) throw new Error(`no composition = """...""" for ${target}`);
  return m[1]!;
}

/** A component that nests the apps' components and instantiates them (the component model's own composition). */
export async function nestComponents(app: App, wasm: Record<string, string>): Promise<Uint8Array> {
  const parts: string[] = ["(component"];
  const used = [...new Set(app.nest.map(([, c]) => c))];
  for (const c of used) {
    const text = await print(await readFile(wasm[c]!));
    parts.push(text.replace(/^\(component/, `(component $${c}`));
  }
  for (const [inst, c, args] of app.nest) {
    const withs = Object.entries(args).map(([iface, from]) => `(with "${IFACE(iface)}" (instance $${from}_${iface}))`);
    parts.push(`(instance $${inst} (instantiate $${c} ${withs.join(" ")}))`);
    // Each instance's exported interfaces, for the instances after it.
    for (const iface of ["auth", "data", "catalog", "payment", "sensors"]) {
      if (app.nest.some(([, , a]) => Object.entries(a).some(([i, f]) => i === iface && f === inst))) {
        parts.push(`(alias export $${inst} "${IFACE(iface)}" (instance $${inst}_${iface}))`);
      }
    }
  }
  for (const e of app.exports) {
    const [inst, fn] = e.split(":") as [string, string];
    parts.push(`(alias export $${inst} "${fn}" (func $${inst}_${fn}))`, `(export "${fn}" (func $${inst}_${fn}))`);
  }
  parts.push(")");
  return parse(parts.join("\n"));
}
