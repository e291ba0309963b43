"""wasm_component_from_wat: a component built from a core module in WAT plus the WIT world it implements."""

load("//wasm:providers.bzl", "WasmComponentInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci")

def _wasm_component_from_wat_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".wasm")
    wit = ctx.files.wit
    if not wit:
        fail("wasm_component_from_wat %s: wit names no .wit file" % ctx.label)
    args = ctx.actions.args()
    args.add_all(["component", "new", "--wat", ctx.file.wat])

    # Every file is passed on its own (never its directory), so the action reads its inputs only.
    for f in wit:
        args.add("--wit", f)
    world = ctx.attr.world or ctx.label.name.replace("_", "-")
    args.add_all(["--world", world])
    args.add_all(["--string-encoding", ctx.attr.string_encoding])
    args.add_all(["-o", out])
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = [ctx.file.wat] + wit,
        outputs = [out],
        mnemonic = "WasmComponentNew",
        progress_message = "Building component %s from %s (world %s)" % (ctx.label, ctx.file.wat.short_path, world),
    )
    return [
        DefaultInfo(files = depset([out])),
        WasmComponentInfo(
            wasm = out,
            metadata = None,
            signature = None,
            package_name = ctx.attr.package_name,
            reference = "",
            digest = "",
        ),
    ]

wasm_component_from_wat = rule(
    implementation = _wasm_component_from_wat_impl,
    doc = """Builds a component from a core module written in WAT and the WIT world it implements
(`wasm-oci component new`), validated. The module follows the canonical ABI by hand: exports
named `iface#fn` (or `fn` for world-level functions), `memory`, and `cabi_realloc`.
Outputs `<name>.wasm`; provides WasmComponentInfo.""",
    attrs = {
        "wat": attr.label(mandatory = True, allow_single_file = [".wat", ".wasm"], doc = "Core module: WAT text or a binary core module."),
        "wit": attr.label_list(mandatory = True, allow_files = [".wit"], doc = "The .wit files of the WIT package (one package)."),
        "world": attr.string(doc = "World of the WIT package the module implements; default: the target name in kebab case."),
        "string_encoding": attr.string(default = "utf8", values = ["utf8", "utf16", "compact-utf16"], doc = "String encoding of the core module."),
        "package_name": attr.string(doc = "WAC package name (`ns:name`) when composed; default: the composing rule's `local:<key>`."),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
