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
    inputs = [src]
    outputs = [layout, digest]
    tar = None
    if ctx.attr.format == "runwasi":
        # containerd/runwasi: one tar that is an OCI layout and a Docker archive (ctr/regctl/skopeo import it).
        if signature:
            fail("%s: format = \"runwasi\" cannot carry a detached signature (containerd imports no referrers); use signature_type = \"embedded\" or format = \"cncf\"" % owner)
        image_name = ctx.attr.image_name or "%s:%s" % (package_name, tag)
        if ":" not in image_name.split("/")[-1]:
            fail("%s: image_name \"%s\" must be NAME:TAG, e.g. \"ghcr.io/acme/%s:%s\"" % (owner, image_name, package_name, tag))
        tag = image_name.rsplit(":", 1)[1]
        tar = ctx.actions.declare_file(ctx.label.name + ".tar")
        outputs.append(tar)
        args.add_all(["image", src, "--format", "runwasi", "--name", image_name, "-o", layout.path, "--tar", tar])
    else:
        if ctx.attr.image_name:
            fail("%s: image_name applies to format = \"runwasi\"; the CNCF layout is tagged with tag/version" % owner)
        args.add_all(["image", src, "-o", layout.path, "--tag", tag])
    if ctx.file.policy_layer:
        args.add_all(["--policy-layer", ctx.file.policy_layer])
        inputs.append(ctx.file.policy_layer)
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
        outputs = outputs,
        mnemonic = "WasmOciImage",
        progress_message = "Packing %s into an OCI image layout for %s" % (src.short_path, owner),
        stdout = digest,
    )
    return [
        DefaultInfo(files = depset(outputs + ([signature] if signature else []))),
        OutputGroupInfo(signature = depset([signature] if signature else []), tar = depset([tar] if tar else [])),
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
    "format": attr.string(
        default = "cncf",
        values = ["cncf", "runwasi"],
        doc = "`cncf`: the CNCF Wasm OCI artifact layout. `runwasi`: also `<name>.tar`, one tar that is an OCI layout and a Docker archive for containerd/runwasi (`ctr image import`, `regctl image import`, `skopeo copy oci-archive:`/`docker-archive:`); output group `tar`.",
    ),
    "image_name": attr.string(doc = "With format = \"runwasi\": NAME:TAG containerd imports the image as; default `<package_name>:<tag>`."),
    "policy_layer": attr.label(allow_single_file = [".yaml", ".yml"], doc = "A YAML permissions file added as a layer after the wasm layer (application/vnd.wasm.policy.v1+yaml, as wassette reads it)."),
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
