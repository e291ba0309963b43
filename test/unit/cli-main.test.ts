import { describe, expect, it } from "vitest";
import { commandModules, modulesFor } from "../../tools/src/cli/commands/index.ts";
import { buildProgram } from "../../tools/src/cli/main.ts";

describe("command loading", () => {
  it("loads only the module a command line names", () => {
    expect(modulesFor(["-v", "verify", "-i", "x.wasm"]).map((m) => m.names[0])).toEqual(["keygen"]);
    expect(modulesFor(["pull", "r/x:1", "-o", "push"]).map((m) => m.names[0])).toEqual(["pull"]);
  });

  it("loads every module for top-level help, `help CMD` and unknown commands", () => {
    expect(modulesFor([])).toHaveLength(commandModules.length);
    expect(modulesFor(["help", "pull"])).toHaveLength(commandModules.length);
    expect(modulesFor(["nosuch"])).toHaveLength(commandModules.length);
  });

  it("lists exactly the names each module registers", async () => {
    for (const m of commandModules) {
      const program = await buildProgram([m.names[0] ?? ""]);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...m.names].sort());
    }
  });
});
