"""fetched_component: the `:component` target of a wasm_component_oci_repository."""

load("//wasm:providers.bzl", "WasmComponentInfo")

def _fetched_component_impl(ctx):
    sig = ctx.file.signature
    return [
        DefaultInfo(files = depset([ctx.file.wasm, ctx.file.metadata] + ([sig] if sig else []))),
        WasmComponentInfo(
            wasm = ctx.file.wasm,
            metadata = ctx.file.metadata,
            signature = sig,
            package_name = ctx.attr.package_name,
            reference = ctx.attr.reference,
            digest = ctx.attr.digest,
        ),
    ]

fetched_component = rule(
    implementation = _fetched_component_impl,
    doc = "A component fetched by wasm_component_oci_repository (written into its generated BUILD file).",
    attrs = {
        "wasm": attr.label(allow_single_file = [".wasm"], mandatory = True),
        "metadata": attr.label(allow_single_file = [".json"], mandatory = True),
        "signature": attr.label(allow_single_file = True),
        "reference": attr.string(doc = "host/repository the component was pulled from."),
        "digest": attr.string(doc = "The pinned digest."),
        "package_name": attr.string(doc = "WAC package name."),
    },
)
