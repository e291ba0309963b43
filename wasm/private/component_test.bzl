"""wasm_component_test: calls an exported function of a component (through jco) and checks the result."""

load(":signing.bzl", "component_file")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "write_launcher")

def _wasm_component_test_impl(ctx):
    wasm = component_file(ctx.attr.component)
    script = ctx.actions.declare_file(ctx.label.name + ".test.sh")
    argv = ["run", wasm, "--invoke", ctx.attr.invoke]
    if ctx.attr.expect:
        argv.extend(["--expect", ctx.attr.expect])
    runfiles = write_launcher(ctx, script, argv, extra_runfiles = [wasm])
    return [DefaultInfo(executable = script, runfiles = runfiles)]

wasm_component_test = rule(
    implementation = _wasm_component_test_impl,
    doc = "Runs `wasm-oci run COMPONENT --invoke INVOKE --expect EXPECT` as a test.",
    attrs = {
        "component": attr.label(mandatory = True, allow_files = [".wasm"]),
        "invoke": attr.string(mandatory = True, doc = "Call expression, e.g. `greet(\"world\")` or `ns:pkg/iface@1.0.0#fn(1, 2)`; arguments are JSON."),
        "expect": attr.string(doc = "Expected result as JSON; empty: only check that the call returns."),
    },
    test = True,
    toolchains = [TOOLCHAIN_TYPE],
)
