"""wasm_keygen, wasm_sign, wasm_verify: wasmsign2-compatible keys and signatures."""

load("//wasm:providers.bzl", "WasmComponentInfo", "WasmKeyPairInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci")

def component_file(target):
    """The component File of a target.

    Args:
        target: a target with WasmComponentInfo or exactly one .wasm file.

    Returns:
        The .wasm File.
    """
    if WasmComponentInfo in target:
        return target[WasmComponentInfo].wasm
    files = [f for f in target[DefaultInfo].files.to_list() if f.extension == "wasm"]
    if len(files) != 1:
        fail("%s must provide WasmComponentInfo or exactly one .wasm file, got %d" % (target.label, len(files)))
    return files[0]

def _wasm_keygen_impl(ctx):
    # Raw wasmsign2 keys: <name>.sk / <name>.pk; OpenSSH: <name>.key / <name>.pub.
    sk = ctx.actions.declare_file(ctx.label.name + (".key" if ctx.attr.openssh_format else ".sk"))
    pk = ctx.actions.declare_file(ctx.label.name + (".pub" if ctx.attr.openssh_format else ".pk"))
    args = ctx.actions.args()
    args.add_all(["keygen", "-k", sk, "-K", pk])
    if ctx.attr.openssh_format:
        args.add("-Z")
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = [],
        outputs = [sk, pk],
        mnemonic = "WasmKeygen",
        progress_message = "Generating a wasmsign2 key pair for %s (example/test key, not for production)" % ctx.label,
    )
    return [
        DefaultInfo(files = depset([pk, sk])),
        OutputGroupInfo(public_key = depset([pk]), secret_key = depset([sk])),
        WasmKeyPairInfo(public_key = pk, secret_key = sk, openssh_format = ctx.attr.openssh_format),
    ]

wasm_keygen = rule(
    implementation = _wasm_keygen_impl,
    doc = "Generates an Ed25519 key pair. The secret key lives in bazel-out: for examples and tests only.",
    attrs = {
        "openssh_format": attr.bool(default = False, doc = "Write OpenSSH keys instead of raw wasmsign2 keys."),
    },
    toolchains = [TOOLCHAIN_TYPE],
)

def _keys(ctx, owner, need_secret):
    """(secret key, public key, openssh) from `keys` or the explicit key attributes."""
    sk = None
    pk = None
    openssh = ctx.attr.openssh_format
    if ctx.attr.keys:
        info = ctx.attr.keys[WasmKeyPairInfo]
        sk = info.secret_key
        pk = info.public_key
        openssh = info.openssh_format or openssh
    if hasattr(ctx.file, "secret_key") and ctx.file.secret_key:
        sk = ctx.file.secret_key
    if ctx.file.public_key:
        pk = ctx.file.public_key
    if need_secret and sk == None:
        fail("%s: give keys (a wasm_keygen target) or secret_key" % owner)
    if not need_secret and pk == None:
        fail("%s: give keys (a wasm_keygen target) or public_key" % owner)
    return sk, pk, openssh

def _wasm_sign_impl(ctx):
    owner = "wasm_sign %s" % ctx.label
    sk, pk, openssh = _keys(ctx, owner, True)
    src = component_file(ctx.attr.component)
    out = ctx.actions.declare_file(ctx.label.name + ".wasm")
    args = ctx.actions.args()
    args.add_all(["sign", "-i", src, "-o", out, "-k", sk])
    inputs = [src, sk]
    if pk:
        args.add_all(["-K", pk])
        inputs.append(pk)
    sig = None
    outputs = [out]
    if ctx.attr.detached:
        sig = ctx.actions.declare_file(ctx.label.name + ".sig")
        args.add_all(["-S", sig])
        outputs.append(sig)
    if openssh:
        args.add("-Z")
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = inputs,
        outputs = outputs,
        mnemonic = "WasmSign",
        progress_message = "Signing %s for %s" % (src.short_path, ctx.label),
    )
    base = ctx.attr.component[WasmComponentInfo] if WasmComponentInfo in ctx.attr.component else None
    return [
        DefaultInfo(files = depset(outputs)),
        WasmComponentInfo(
            wasm = out,
            metadata = base.metadata if base else None,
            signature = sig,
            package_name = base.package_name if base else "",
            reference = base.reference if base else "",
            digest = "",
        ),
    ]

wasm_sign = rule(
    implementation = _wasm_sign_impl,
    doc = "Signs a component (embedded signature section, or a detached signature file).",
    attrs = {
        "component": attr.label(mandatory = True, allow_files = [".wasm"], doc = "Component or module to sign."),
        "keys": attr.label(providers = [WasmKeyPairInfo], doc = "A wasm_keygen target."),
        "secret_key": attr.label(allow_single_file = True, doc = "Secret key file (instead of keys)."),
        "public_key": attr.label(allow_single_file = True, doc = "Public key: stores its key id in the signature."),
        "detached": attr.bool(default = False, doc = "Write the signature to <name>.sig; the component is unchanged."),
        "openssh_format": attr.bool(default = False, doc = "Keys are OpenSSH keys."),
    },
    toolchains = [TOOLCHAIN_TYPE],
)

def _wasm_verify_impl(ctx):
    owner = "wasm_verify %s" % ctx.label
    _, pk, openssh = _keys(ctx, owner, False)
    src = component_file(ctx.attr.signed_component)
    sig = ctx.file.signature_file
    if sig == None and WasmComponentInfo in ctx.attr.signed_component:
        sig = ctx.attr.signed_component[WasmComponentInfo].signature
    out = ctx.actions.declare_file(ctx.label.name + ".wasm")
    report = ctx.actions.declare_file(ctx.label.name + ".verify.txt")
    args = ctx.actions.args()
    args.add_all(["verify", "-i", src, "-K", pk])
    inputs = [src, pk]
    if sig:
        args.add_all(["-S", sig])
        inputs.append(sig)
    if openssh:
        args.add("-Z")
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = inputs,
        outputs = [out, report],
        mnemonic = "WasmVerify",
        progress_message = "Verifying the signature of %s with %s for %s" % (src.short_path, pk.short_path, ctx.label),
        stdout = report,
        copy = (src, out),
    )
    base = ctx.attr.signed_component[WasmComponentInfo] if WasmComponentInfo in ctx.attr.signed_component else None
    return [
        DefaultInfo(files = depset([out, report])),
        WasmComponentInfo(
            wasm = out,
            metadata = base.metadata if base else None,
            signature = sig,
            package_name = base.package_name if base else "",
            reference = base.reference if base else "",
            digest = base.digest if base else "",
        ),
    ]

wasm_verify = rule(
    implementation = _wasm_verify_impl,
    doc = "Verifies a signature; the build fails when it does not verify. Outputs the verified component.",
    attrs = {
        "signed_component": attr.label(mandatory = True, allow_files = [".wasm"]),
        "keys": attr.label(providers = [WasmKeyPairInfo], doc = "A wasm_keygen target (its public key is used)."),
        "public_key": attr.label(allow_single_file = True, doc = "Public key file (instead of keys)."),
        "signature_file": attr.label(allow_single_file = True, doc = "Detached signature; default: the one signed_component carries."),
        "openssh_format": attr.bool(default = False),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
