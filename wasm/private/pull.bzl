"""wasm_component_from_oci: pulls one component, checks its digest, signature and policy."""

load("//wasm:providers.bzl", "WasmComponentInfo", "WasmKeyPairInfo", "WasmRegistryConfigInfo", "WasmSecurityPolicyInfo")
load(":policy.bzl", "public_key_file")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci", "wasm_oci_action_kwargs", "wasm_oci_tool")
load(":validate.bzl", "is_digest", "is_host")

def split_reference(ref):
    """Splits a reference.

    Args:
        ref: `[oci://]host/repo[:tag][@digest]`.

    Returns:
        (host, repository, tag, digest); missing parts are "".
    """
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    if ref.startswith("oci://"):
        ref = ref[len("oci://"):]
    slash = ref.find("/")
    host = ref[:slash] if slash > 0 else ""
    path = ref[slash + 1:] if slash > 0 else ref
    tag = ""
    colon = path.rfind(":")
    if colon > 0:
        tag = path[colon + 1:]
        path = path[:colon]
    return host, path, tag, digest

def registry_name_for_host(config_info, host):
    """Finds the registry config name that serves `host`.

    Args:
        config_info: WasmRegistryConfigInfo or None.
        host: registry host[:port].

    Returns:
        The registry name, or the host itself when no entry serves it.
    """
    if config_info:
        for name, h in config_info.registries.items():
            if h == host:
                return name
    return host

def resolve_reference(owner, attr, config_info):
    """Builds the reference to pull from the rule's attributes.

    Args:
        owner: "rule //label" for error messages.
        attr: ctx.attr of a wasm_component_from_oci.
        config_info: WasmRegistryConfigInfo or None.

    Returns:
        (reference without digest, digest, registry name, component name).
    """
    if attr.image_ref.startswith("file://") or attr.image_ref.startswith("https://") or attr.image_ref.startswith("http://"):
        # wassette's non-registry references: the pin is the component's own sha256 (no manifest).
        if attr.image_ref.startswith("http://"):
            fail("%s: image_ref \"%s\": plain http:// is not accepted; use https://" % (owner, attr.image_ref))
        url = attr.image_ref
        digest = attr.digest
        if "@sha256:" in url:
            url, pinned = url.rsplit("@", 1)
            if digest and digest != pinned:
                fail("%s: digest \"%s\" disagrees with the digest in image_ref \"%s\"" % (owner, digest, attr.image_ref))
            digest = pinned
        if not digest:
            fail("%s: image_ref \"%s\" needs digest = \"sha256:...\" (the component's own digest: a URL has no manifest to pin)" % (owner, attr.image_ref))
        if not is_digest(digest):
            fail("%s: digest \"%s\" must be sha256: followed by 64 lowercase hex digits" % (owner, digest))
        file_name = url.split("/")[-1]
        component = attr.component_name or (file_name[:-len(".wasm")] if file_name.endswith(".wasm") else file_name)
        host = url.split("://", 1)[1].split("/")[0] if url.startswith("https://") else ""
        return url, digest, host, component
    if attr.image_ref:
        host, repo, tag, digest = split_reference(attr.image_ref)
        if not host or not repo:
            fail("%s: image_ref \"%s\" must be host[:port]/repository[:tag][@sha256:...]" % (owner, attr.image_ref))
        if attr.digest and digest and attr.digest != digest:
            fail("%s: digest \"%s\" disagrees with the digest in image_ref \"%s\"" % (owner, attr.digest, attr.image_ref))
        digest = attr.digest or digest
        if not tag and not digest:
            tag = "latest"
        ref = host + "/" + repo + (":" + tag if tag else "")
        component = attr.component_name or repo.split("/")[-1]
        registry = registry_name_for_host(config_info, host)
    else:
        if not attr.registry or not attr.component_name:
            fail("%s: give image_ref, or registry and component_name (plus namespace and tag or digest)" % owner)
        host = attr.registry
        registry = attr.registry
        if config_info and attr.registry in config_info.registries:
            host = config_info.registries[attr.registry]
        elif not is_host(attr.registry):
            fail("%s: registry \"%s\" is neither a registry name of registry_config nor host[:port]" % (owner, attr.registry))
        else:
            registry = registry_name_for_host(config_info, host)
        repo = (attr.namespace.strip("/") + "/" if attr.namespace else "") + attr.component_name
        digest = attr.digest
        tag = attr.tag or ("" if digest else "latest")
        ref = host + "/" + repo + (":" + tag if tag else "")
        component = attr.component_name
    if digest and not is_digest(digest):
        fail("%s: digest \"%s\" must be sha256: followed by 64 lowercase hex digits" % (owner, digest))
    return ref, digest, registry, component

def refuse_env_credentials(owner, config_info, registry, ref):
    """Fails when a build-time pull would need a credential from the environment.

    An environment variable reaches an action only through its environment, which Bazel records
    in the action's Command: in --disk_cache, --remote_cache and --execution_log_json_file.

    Args:
        owner: "rule //label" for messages.
        config_info: WasmRegistryConfigInfo or None.
        registry: the registry name (or host) the pull uses.
        ref: the reference (messages).
    """
    env_auth = getattr(config_info, "env_auth", None) if config_info else None
    if not env_auth or registry not in env_auth:
        return
    fail(("%s: pulls %s from registry \"%s\" of %s, which takes its credential from the environment (%s). " +
          "A build action's environment is recorded with the action (its key, --disk_cache, --remote_cache, " +
          "--execution_log_json_file), so build-time pulls refuse it. Use one of: a fetch-time pull " +
          "(wasm_component_oci_repository in WORKSPACE, wasm_oci.pull in MODULE.bazel: the environment is read at fetch time), " +
          "`docker` (Docker config), `helper|NAME` (a docker-credential-NAME helper), or `file|/path/to/token` (a token file); " +
          "see docs/security.md") % (owner, ref, registry, config_info.config.owner, env_auth[registry]))

def pull_component(ctx, owner, name, ref, digest, registry, component, config_info, policy_info, verify_key, openssh, label_for_hint, signature_type = "embedded", policy_layer = False):
    """Declares the actions that pull `ref` and gate it by signature and policy.

    Args:
        ctx: rule context.
        owner: "rule //label" for messages.
        name: base name of the outputs.
        ref: reference without digest.
        digest: pinned manifest digest or "".
        registry: registry name the policy matches.
        component: component name the policy matches.
        config_info: WasmRegistryConfigInfo or None.
        policy_info: WasmSecurityPolicyInfo or None.
        verify_key: public key File to verify the signature with, or None.
        openssh: the key is an OpenSSH key.
        label_for_hint: label printed in the buildozer hint of tag-only pulls.
        signature_type: "embedded" (the signature is a section of the component) or "detached"
            (the signature artifact that refers to the image in the registry is pulled with it,
            digest-checked, and verified against the component).
        policy_layer: also write the image's policy layer (wassette) as `<name>.policy.yaml`;
            an image without one fails the pull.

    Returns:
        (wasm File, metadata File, signature File or None, policy File or None): the wasm
        exists only if every check passed; the signature is the detached one that was verified.
    """
    final = ctx.actions.declare_file(name + ".wasm")
    raw = final if not verify_key else ctx.actions.declare_file("_pulled/" + name + ".wasm")
    meta = ctx.actions.declare_file(name + ".oci.json")
    stdout = ctx.actions.declare_file("_pulled/" + name + ".pull.txt")
    sig = ctx.actions.declare_file(name + ".sig") if verify_key and signature_type == "detached" else None
    policy_file = ctx.actions.declare_file(name + ".policy.yaml") if policy_layer else None
    tc = wasm_oci_tool(ctx)
    refuse_env_credentials(owner, config_info, registry, ref)

    args = ctx.actions.args()
    args.add_all(tc.args_prefix)
    args.add_all(["pull", ref + ("@" + digest if digest else ""), "-o", raw, "--metadata", meta])
    if digest:
        args.add_all(["--digest", digest])
    if sig:
        # Fetched with the image (referrers API, else the sha256-<hex> tag) and digest-checked;
        # none found fails the pull.
        args.add_all(["--signature-output", sig])
    if policy_file:
        args.add_all(["--policy-output", policy_file])
    inputs = []
    if config_info:
        args.add_all(["--registry-config", config_info.config])
        inputs.append(config_info.config)
    if policy_info:
        # The CLI decides before it writes: a component the policy denies is never written.
        args.add_all(["--policy", policy_info.policy, "--component-name", component, "--registry-name", registry])
        inputs.append(policy_info.policy)
    cache = ""
    if not config_info or not config_info.cache_dir:
        # No shared cache configured: a scratch cache next to the output, removed afterwards
        # (actions have no $HOME for the CLI's default cache).
        cache = raw.path + ".cache"
        args.add_all(["--cache-dir", cache])

    # Tag-only pulls: the tag may move, so the action is not cached and the build prints the
    # digest it resolved with the command that pins it.
    hint = ""
    if not digest:
        hint = ("d=$(grep -o 'sha256:[0-9a-f]\\{64\\}' \"$out\" | head -n 1); " +
                "echo \"%s: %s resolved to $d; pin it with: buildozer 'set digest $d' %s\" >&2; ") % (owner, ref, label_for_hint)
    ctx.actions.run_shell(
        command = 'out="$1"; cache="$2"; shift 2; "$@" > "$out"; rc=$?; [ -z "$cache" ] || rm -rf "$cache"; [ "$rc" = 0 ] || exit "$rc"; ' + hint,
        tools = tc.tools,
        arguments = [stdout.path, cache, tc.executable.path, args],
        inputs = depset(inputs, transitive = [policy_info.keys] if policy_info else []),
        outputs = [raw, meta, stdout] + ([sig] if sig else []) + ([policy_file] if policy_file else []),
        mnemonic = "WasmOciPull",
        progress_message = "Pulling %s for %s%s" % (
            ref + ("@" + digest if digest else ""),
            owner,
            " (security policy: component %s, registry %s)" % (component, registry) if policy_info else "",
        ),
        # No credential value in the environment: see compat.bzl and refuse_env_credentials.
        **wasm_oci_action_kwargs(ctx, network = True, cacheable = bool(digest))
    )

    if verify_key:
        verify_component(ctx, owner, name, raw, final, sig, verify_key, openssh, signature_type, component, ref)
    return final, meta, sig, policy_file

def verify_component(ctx, owner, name, raw, final, sig, verify_key, openssh, signature_type, component, ref):
    """A sandboxed action that verifies `raw`'s signature and copies it to `final` when it holds.

    Args:
        ctx: rule context.
        owner: "rule //label" for messages.
        name: base name of the report.
        raw: the component File to verify.
        final: the File written only when the signature verifies.
        sig: detached signature File, or None for an embedded signature.
        verify_key: public key File.
        openssh: the key is an OpenSSH key.
        signature_type: "embedded" or "detached" (messages).
        component: component name (messages).
        ref: where the component came from (messages).
    """
    report = ctx.actions.declare_file("_verified/" + name + ".verify.txt")
    vargs = ctx.actions.args()
    vargs.add_all(["verify", "-i", raw, "-K", verify_key])
    if sig:
        vargs.add_all(["-S", sig])
    if openssh:
        vargs.add("-Z")
    run_wasm_oci(
        ctx,
        arguments = [vargs],
        inputs = [raw, verify_key] + ([sig] if sig else []),
        outputs = [final, report],
        mnemonic = "WasmVerify",
        progress_message = "Verifying the %s signature of component %s (%s) with %s for %s" % (signature_type, component, ref, verify_key.short_path, owner),
        stdout = report,
        copy = (raw, final),
    )

def gate_fetched_component(ctx, owner, name, info, registry, policy_info, verify_key, openssh, signature_type):
    """Signature and policy checks of a component fetched by wasm_component_oci_repository.

    The fetch only pulled and digest-checked; the checks are sandboxed build actions on the files
    it fetched, each writing its output only when the check passes.

    Args:
        ctx: rule context.
        owner: "rule //label" for messages.
        name: base name of the outputs.
        info: the WasmComponentInfo of the fetched component.
        registry: registry name the policy matches.
        policy_info: WasmSecurityPolicyInfo or None.
        verify_key: public key File, or None.
        openssh: the key is an OpenSSH key.
        signature_type: "embedded" or "detached".

    Returns:
        The component File that passed every check.
    """
    component = info.reference.split("/")[-1] if info.reference else name
    wasm = info.wasm
    sig = info.signature if signature_type == "detached" else None
    if verify_key and signature_type == "detached" and not sig:
        fail("%s: signature_type = \"detached\" but %s fetched no detached signature; set signature = \"required\" on its repository, or use embedded signatures" % (owner, info.wasm.owner))
    if verify_key:
        verified = ctx.actions.declare_file("_verified/" + name + ".wasm")
        verify_component(ctx, owner, name, wasm, verified, sig, verify_key, openssh, signature_type, component, info.reference)
        wasm = verified
    if policy_info:
        allowed = ctx.actions.declare_file("_policy/" + name + ".wasm")
        report = ctx.actions.declare_file("_policy/" + name + ".policy.txt")
        pargs = ctx.actions.args()
        pargs.add_all(["policy", "check", "--policy", policy_info.policy, "--component", component, "--registry", registry, "-i", wasm])
        if info.signature and policy_info.signature_type == "detached":
            pargs.add_all(["-S", info.signature])
        run_wasm_oci(
            ctx,
            arguments = [pargs],
            inputs = depset([wasm, policy_info.policy] + ([info.signature] if info.signature else []), transitive = [policy_info.keys]),
            outputs = [allowed, report],
            mnemonic = "WasmPolicyCheck",
            progress_message = "Checking component %s (%s) against the security policy for %s" % (component, info.reference, owner),
            stdout = report,
            copy = (wasm, allowed),
        )
        wasm = allowed
    return wasm

def verification_key(ctx, owner, verify_attr):
    """The public key that pulled components are verified with, from the rule's attributes.

    Args:
        ctx: rule context with public_key and signature_type attributes.
        owner: "rule //label" for messages.
        verify_attr: name of the rule's bool attribute that turns verification on.

    Returns:
        (key File or None, openssh bool): None when verification is off.
    """
    enabled = getattr(ctx.attr, verify_attr)
    if ctx.attr.signature_type == "detached" and not enabled:
        fail("%s: signature_type = \"detached\" applies to %s = True; set it, or drop signature_type" % (owner, verify_attr))
    if not enabled:
        return None, False
    if not ctx.attr.public_key:
        fail("%s: %s = True needs public_key" % (owner, verify_attr))
    key = public_key_file(ctx.attr.public_key, owner, "public_key")
    openssh = ctx.attr.public_key[WasmKeyPairInfo].openssh_format if WasmKeyPairInfo in ctx.attr.public_key else False
    return key, openssh

def _wasm_component_from_oci_impl(ctx):
    owner = "wasm_component_from_oci %s" % ctx.label
    config_info = ctx.attr.registry_config[WasmRegistryConfigInfo] if ctx.attr.registry_config else None
    policy_info = ctx.attr.security_policy[WasmSecurityPolicyInfo] if ctx.attr.security_policy else None
    ref, digest, registry, component = resolve_reference(owner, ctx.attr, config_info)
    key, openssh = verification_key(ctx, owner, "verify_signature")
    wasm, meta, sig, policy_file = pull_component(ctx, owner, ctx.label.name, ref, digest, registry, component, config_info, policy_info, key, openssh, str(ctx.label), ctx.attr.signature_type, ctx.attr.policy_layer)
    return [
        DefaultInfo(files = depset([wasm, meta] + ([sig] if sig else []) + ([policy_file] if policy_file else []))),
        OutputGroupInfo(policy = depset([policy_file] if policy_file else [])),
        WasmComponentInfo(
            wasm = wasm,
            metadata = meta,
            signature = sig,
            package_name = ctx.attr.package_name or "oci:" + component.replace("_", "-").lower(),
            reference = ref,
            digest = digest,
        ),
    ]

PULL_ATTRS = {
    "registry": attr.string(doc = "Registry name from registry_config, or host[:port]."),
    "namespace": attr.string(doc = "Repository namespace, e.g. `wasm-examples`."),
    "component_name": attr.string(doc = "Repository name under the namespace; also the component name the policy matches."),
    "tag": attr.string(doc = "Tag; default `latest` when no digest is given."),
    "digest": attr.string(doc = "Manifest digest `sha256:...`: pins the pull (cached, verified)."),
    "image_ref": attr.string(doc = "Full reference host/repo[:tag][@digest]; replaces registry/namespace/component_name/tag."),
    "registry_config": attr.label(providers = [WasmRegistryConfigInfo]),
    "verify_signature": attr.bool(default = False),
    "signature_type": attr.string(
        default = "embedded",
        values = ["embedded", "detached"],
        doc = "With verify_signature: `embedded` (a signature section of the component) or `detached` (the signature artifact pushed with the image, found through the referrers API or the sha256-<hex> tag).",
    ),
    "public_key": attr.label(allow_files = True, doc = "Public key (file or wasm_keygen target) for verify_signature."),
    "security_policy": attr.label(providers = [WasmSecurityPolicyInfo]),
    "package_name": attr.string(doc = "WAC package name; default `oci:<component_name>`."),
    "policy_layer": attr.bool(
        default = False,
        doc = "Also write the image's policy layer (wassette's permissions YAML; any of the CNCF, legacy wassette and YAML media types) as `<name>.policy.yaml`, digest-checked, at most 1 MiB (output group `policy`); an image without one fails the build.",
    ),
}

wasm_component_from_oci = rule(
    implementation = _wasm_component_from_oci_impl,
    doc = "Pulls a component from an OCI registry (digest-checked), optionally verifying its signature and a security policy.",
    attrs = PULL_ATTRS,
    toolchains = [TOOLCHAIN_TYPE],
)
