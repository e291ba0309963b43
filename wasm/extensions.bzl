"""Module extension for bzlmod: pulls components at fetch time.

    wasm_oci = use_extension("@rules_wasm_oci//wasm:extensions.bzl", "wasm_oci")
    wasm_oci.pull(
        name = "auth_service",
        image = "ghcr.io/org/auth-service",
        digest = "sha256:...",
    )
    use_repo(wasm_oci, "auth_service")

Each `pull` tag becomes one wasm_component_oci_repository (see wasm/private/oci_repository.bzl):
`@auth_service//:component` (WasmComponentInfo), `:metadata`, `:signature`.
"""

load("//wasm/private:oci_repository.bzl", "wasm_component_oci_repository")

_pull = tag_class(
    doc = "One component pulled at fetch time, pinned by digest.",
    attrs = {
        "name": attr.string(mandatory = True, doc = "Name of the repository to create (use_repo it)."),
        "image": attr.string(mandatory = True, doc = "host[:port]/repository[:tag][@sha256:...]."),
        "digest": attr.string(doc = "sha256:...; required unless allow_tag_without_digest (a tag alone fails, printing the digest to paste)."),
        "allow_tag_without_digest": attr.bool(default = False, doc = "Accept a moving tag (not reproducible)."),
        "registry_config": attr.label(doc = "The CLI's registry config JSON (a source file): auth sources, mirrors, retry."),
        "mirrors": attr.string_list(doc = "Mirror hosts of the image's registry."),
        "signature": attr.string(default = "auto", values = ["auto", "required", "none"], doc = "Fetch the detached signature artifact when present (auto), always (required), or never."),
        "package_name": attr.string(doc = "WAC package name; default oci:<last path component of the repository>."),
    },
)

_node = tag_class(
    doc = "The node binary that runs the CLI at fetch time (root module only), e.g. rules_nodejs' host node.",
    attrs = {
        "node": attr.label(mandatory = True, doc = "A node binary, e.g. @nodejs_host//:node_bin."),
    },
)

def _wasm_oci_impl(module_ctx):
    node = None
    for mod in module_ctx.modules:
        for n in mod.tags.node:
            if not mod.is_root:
                fail("wasm_oci.node: only the root module may choose the node binary (module %s)" % mod.name)
            node = n.node

    root_direct_deps = []
    root_direct_dev_deps = []
    seen = {}
    for mod in module_ctx.modules:
        for pull in mod.tags.pull:
            if pull.name in seen:
                fail("wasm_oci.pull: repository name \"%s\" is used by module %s and module %s; names must be unique" % (pull.name, seen[pull.name], mod.name))
            seen[pull.name] = mod.name
            wasm_component_oci_repository(
                name = pull.name,
                image = pull.image,
                digest = pull.digest,
                allow_tag_without_digest = pull.allow_tag_without_digest,
                registry_config = pull.registry_config,
                mirrors = pull.mirrors,
                signature = pull.signature,
                package_name = pull.package_name,
                node = node,
            )
            if mod.is_root:
                if module_ctx.is_dev_dependency(pull):
                    root_direct_dev_deps.append(pull.name)
                else:
                    root_direct_deps.append(pull.name)

    # Every repository is pinned by digest (or refused), so the extension's result is reproducible;
    # older Bazel versions do not know the argument.
    return module_ctx.extension_metadata(
        root_module_direct_deps = root_direct_deps,
        root_module_direct_dev_deps = root_direct_dev_deps,
    )

wasm_oci = module_extension(
    implementation = _wasm_oci_impl,
    doc = "Fetch-time pulls of WebAssembly components from OCI registries (docs/rules.md, \"Fetch-time pulls\").",
    tag_classes = {
        "pull": _pull,
        "node": _node,
    },
)
