"""wasm_component_oci_image: a reproducible OCI image layout holding one component."""

load("//wasm:providers.bzl", "WasmComponentInfo", "WasmKeyPairInfo", "WasmOciImageInfo")
load(":signing.bzl", "component_file")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci")

def _wasm_component_oci_image_impl(ctx):
    owner = "wasm_component_oci_image %s" % ctx.label
    src = component_file(ctx.attr.component)
    signed = False
    signature_type = ctx.attr.signature_type

    # A detached signature (from wasm_sign(detached = True), or made below) travels in the layout
    # as a signature artifact whose subject is the image (wasm-oci image --signature).
    signature = None
    if WasmComponentInfo in ctx.attr.component and ctx.attr.component[WasmComponentInfo].signature:
        if ctx.attr.sign_component:
            fail("%s: component already carries a detached signature; drop sign_component or pass the unsigned component" % owner)
        signature = ctx.attr.component[WasmComponentInfo].signature
        signature_type = "detached"
        signed = True
    if ctx.attr.sign_component:
        if not ctx.attr.signing_keys:
            fail("%s: sign_component = True needs signing_keys (a wasm_keygen target)" % owner)
        keys = ctx.attr.signing_keys[WasmKeyPairInfo]
        out = ctx.actions.declare_file("_signed/%s.wasm" % ctx.label.name)
        args = ctx.actions.args()
        args.add_all(["sign", "-i", src, "-o", out, "-k", keys.secret_key, "-K", keys.public_key])
        outputs = [out]
        if signature_type == "detached":
            # The module is written unchanged; the signature goes to its own file.
            signature = ctx.actions.declare_file("_signed/%s.sig" % ctx.label.name)
            args.add_all(["-S", signature])
            outputs.append(signature)
        if keys.openssh_format:
            args.add("-Z")
        run_wasm_oci(
            ctx,
            arguments = [args],
            inputs = [src, keys.secret_key, keys.public_key],
            outputs = outputs,
            mnemonic = "WasmSign",
            progress_message = "Signing %s for %s" % (src.short_path, owner),
        )
        src = out
        signed = True
    package_name = ctx.attr.package_name or ctx.label.name
    tag = ctx.attr.tag or ctx.attr.version or "latest"
    annotations = {
        "org.opencontainers.image.title": package_name + ".wasm",
        "com.wasm.component.type": "component",
        "com.wasm.component.security": "signed" if signed else "unsigned",
    }
    if ctx.attr.version:
        annotations["org.opencontainers.image.version"] = ctx.attr.version
    if ctx.attr.description:
        annotations["org.opencontainers.image.description"] = ctx.attr.description
    if ctx.attr.authors:
        annotations["org.opencontainers.image.authors"] = ", ".join(ctx.attr.authors)
    if ctx.attr.license:
        annotations["org.opencontainers.image.licenses"] = ctx.attr.license
    if ctx.attr.source:
        annotations["org.opencontainers.image.source"] = ctx.attr.source
    if signed:
        annotations["com.wasmsign2.signature.type"] = signature_type
        if ctx.attr.signing_keys:
            annotations["com.wasmsign2.key.format"] = "openssh" if ctx.attr.signing_keys[WasmKeyPairInfo].openssh_format else "compact"
    annotations.update(ctx.attr.annotations)

    layout = ctx.actions.declare_directory(ctx.label.name + "_layout")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    args = ctx.actions.args()
    args.add_all(["image", src, "-o", layout.path, "--tag", tag])
    inputs = [src]
    if signature:
        args.add_all(["--signature", signature])
        inputs.append(signature)
    for k in sorted(annotations.keys()):
        args.add("--annotation", "%s=%s" % (k, annotations[k]))

    # `image` prints the manifest digest (the one index.json names) on stdout.
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "WasmOciImage",
        progress_message = "Packing %s into an OCI image layout for %s" % (src.short_path, owner),
        stdout = digest,
    )
    return [
        DefaultInfo(files = depset([layout, digest] + ([signature] if signature else []))),
        OutputGroupInfo(signature = depset([signature] if signature else [])),
        WasmOciImageInfo(
            layout = layout,
            digest = digest,
            component = src,
            tag = tag,
            registry = ctx.attr.registry,
            namespace = ctx.attr.namespace,
            package_name = package_name,
            annotations = annotations,
        ),
    ]

IMAGE_ATTRS = {
    "component": attr.label(mandatory = True, allow_files = [".wasm"]),
    "package_name": attr.string(doc = "Repository name; default: the target name."),
    "version": attr.string(doc = "org.opencontainers.image.version, and the default tag."),
    "registry": attr.string(doc = "Default registry (name from a registry config, or host[:port]) for publishing."),
    "namespace": attr.string(doc = "Default repository namespace for publishing."),
    "tag": attr.string(doc = "Tag recorded in the layout; default: version, else `latest`."),
    "description": attr.string(),
    "authors": attr.string_list(),
    "license": attr.string(doc = "SPDX expression for org.opencontainers.image.licenses."),
    "source": attr.string(doc = "org.opencontainers.image.source URL."),
    "annotations": attr.string_dict(doc = "Extra manifest annotations (override the generated ones)."),
    "sign_component": attr.bool(default = False),
    "signing_keys": attr.label(providers = [WasmKeyPairInfo]),
    "signature_type": attr.string(
        default = "embedded",
        values = ["embedded", "detached"],
        doc = "With sign_component: `embedded` puts the signature section in the component; `detached` leaves the component unchanged and adds a signature artifact (artifactType application/vnd.wasm.signature.v1+wasmsig, subject = the image) to the layout, which publishing pushes with the image.",
    ),
}

wasm_component_oci_image = rule(
    implementation = _wasm_component_oci_image_impl,
    doc = "Packs a component into a reproducible OCI image layout (wasm-oci image), optionally signing it first.",
    attrs = IMAGE_ATTRS,
    toolchains = [TOOLCHAIN_TYPE],
)
