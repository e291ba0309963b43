"""wac_compose_with_oci and friends: compose local and OCI components with `wasm-oci compose`."""

load("//wasm:providers.bzl", "WasmComponentInfo", "WasmRegistryConfigInfo", "WasmSecurityPolicyInfo")
load(":compat.bzl", "invert_label_dict")
load(":pull.bzl", "gate_fetched_component", "pull_component", "registry_name_for_host", "split_reference", "verification_key")
load(":signing.bzl", "component_file")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci")
load(":validate.bzl", "is_kebab", "to_kebab")

def _package_name(owner, key, given, default_ns):
    name = given or "%s:%s" % (default_ns, to_kebab(key))
    parts = name.split(":")
    if len(parts) != 2 or not is_kebab(parts[0]) or not is_kebab(parts[1]):
        fail("%s: package name \"%s\" for \"%s\" must be ns:name in lowercase kebab-case (set it in package_names)" % (owner, name, key))
    return name

def _wac_compose_impl(ctx):
    owner = "wac_compose_with_oci %s" % ctx.label
    config_info = ctx.attr.registry_config[WasmRegistryConfigInfo] if ctx.attr.registry_config else None
    policy_info = ctx.attr.security_policy[WasmSecurityPolicyInfo] if ctx.attr.security_policy else None
    verify_key, openssh = verification_key(ctx, owner, "verify_signatures")

    deps = []  # (key, package name, File)
    inputs = []
    for target, key in ctx.attr.local_component_labels.items():
        info = target[WasmComponentInfo] if WasmComponentInfo in target else None
        given = ctx.attr.package_names.get(key, "") or (info.package_name if info else "")
        deps.append((key, _package_name(owner, key, given, "local"), component_file(target)))

    # One pull action per OCI component, each gated by signature and policy checks.
    for key in sorted(ctx.attr.oci_components.keys()):
        ref = ctx.attr.oci_components[key]
        if ref.startswith("file://") or ref.startswith("https://"):
            # wassette's URL references: pinned by the component's own digest, @sha256:... required.
            if "@sha256:" not in ref:
                fail("%s: oci_components[\"%s\"] = \"%s\" needs @sha256:<digest of the component> (a URL has no manifest to pin)" % (owner, key, ref))
            url, digest = ref.rsplit("@", 1)
            host = url.split("://", 1)[1].split("/")[0] if url.startswith("https://") else ""
            name = url.split("/")[-1]
            component = name[:-len(".wasm")] if name.endswith(".wasm") else name
            pull_ref = url
        else:
            host, repo, tag, digest = split_reference(ref)
            if not host or not repo:
                fail("%s: oci_components[\"%s\"] = \"%s\" must be host[:port]/repository[:tag][@sha256:...], file:///abs/x.wasm@sha256:... or https://host/x.wasm@sha256:..." % (owner, key, ref))
            if not tag and not digest:
                tag = "latest"
            component = repo.split("/")[-1]
            pull_ref = host + "/" + repo + (":" + tag if tag else "")
        wasm, _, _, _ = pull_component(
            ctx,
            owner,
            "%s_oci/%s" % (ctx.label.name, key),
            pull_ref,
            digest,
            registry_name_for_host(config_info, host),
            component,
            config_info,
            policy_info,
            verify_key,
            openssh,
            str(ctx.label),
            ctx.attr.signature_type,
        )
        deps.append((key, _package_name(owner, key, ctx.attr.package_names.get(key, ""), "oci"), wasm))

    # Components fetched by wasm_component_oci_repository: already pulled and digest-checked at
    # fetch time; the signature and policy checks run here, as sandboxed actions.
    for target, key in ctx.attr.oci_component_labels.items():
        if key in ctx.attr.oci_components:
            fail("%s: oci_components[\"%s\"] is given twice" % (owner, key))
        info = target[WasmComponentInfo]
        host = split_reference(info.reference)[0] if info.reference else ""
        wasm = gate_fetched_component(
            ctx,
            owner,
            "%s_oci/%s" % (ctx.label.name, key),
            info,
            registry_name_for_host(config_info, host),
            policy_info,
            verify_key,
            openssh,
            ctx.attr.signature_type,
        )

        # Named by key, as a reference in oci_components is: swapping one for the other keeps the WAC.
        deps.append((key, _package_name(owner, key, ctx.attr.package_names.get(key, ""), "oci"), wasm))
    oci_keys = list(ctx.attr.oci_components.keys()) + ctx.attr.oci_component_labels.values()
    for key in ctx.attr.package_names:
        if key not in oci_keys and key not in ctx.attr.local_component_labels.values():
            fail("%s: package_names names \"%s\", which is in neither local_components nor oci_components" % (owner, key))
    if not deps:
        fail("%s: give local_components and/or oci_components" % owner)
    seen_pkgs = {}
    for key, pkg, _ in deps:
        if pkg in seen_pkgs:
            fail("%s: \"%s\" and \"%s\" map to the same package name %s; set package_names" % (owner, seen_pkgs[pkg], key, pkg))
        seen_pkgs[pkg] = key

    if ctx.attr.composition and ctx.file.composition_file:
        fail("%s: set composition or composition_file, not both" % owner)
    key_to_pkg = {key: pkg for key, pkg, _ in deps}
    if ctx.attr.socket and ctx.attr.socket not in key_to_pkg:
        fail("%s: socket \"%s\" is in neither local_components nor oci_components" % (owner, ctx.attr.socket))
    for name, key in ctx.attr.import_providers.items():
        if key not in key_to_pkg:
            fail("%s: import_providers[\"%s\"] = \"%s\" is in neither local_components nor oci_components" % (owner, name, key))
    if (ctx.attr.composition or ctx.file.composition_file) and (ctx.attr.socket or ctx.attr.import_providers):
        fail("%s: socket and import_providers apply only to a generated composition (no composition or composition_file)" % owner)
    generated = None
    if ctx.file.composition_file:
        wac = ctx.file.composition_file
    elif ctx.attr.composition:
        wac = ctx.actions.declare_file(ctx.label.name + ".wac")
        ctx.actions.write(wac, ctx.attr.composition)
    else:
        # Starlark cannot read the components, so `wasm-oci wac generate` wires them in an action
        # from their real import and export names. OCI components (services) come first: the
        # order only breaks ties between components that do not depend on each other.
        generated = ctx.actions.declare_file(ctx.label.name + ".generated.wac")
        wac = generated
        gen_args = ctx.actions.args()
        gen_args.add_all(["wac", "generate", "--package", ctx.attr.package or "rules-wasm-oci:" + to_kebab(ctx.label.name)])
        ordered = [d for d in deps if d[0] in oci_keys] + [d for d in deps if d[0] not in oci_keys]
        for _, pkg, f in ordered:
            gen_args.add("--dep", "%s=%s" % (pkg, f.path))
        if ctx.attr.socket:
            gen_args.add("--socket", key_to_pkg[ctx.attr.socket])
        for name in sorted(ctx.attr.import_providers.keys()):
            gen_args.add("--provider", "%s=%s" % (name, key_to_pkg[ctx.attr.import_providers[name]]))
        gen_args.add_all(["-o", generated])
        run_wasm_oci(
            ctx,
            arguments = [gen_args],
            inputs = [f for _, _, f in deps],
            outputs = [generated],
            mnemonic = "WacGenerate",
            progress_message = "Generating the WAC composition of %s for %s" % (", ".join([k for k, _, _ in ordered]), owner),
        )

    out = ctx.actions.declare_file(ctx.label.name + ".wasm")
    args = ctx.actions.args()
    args.add_all(["compose", wac])
    for _, pkg, f in deps:
        args.add("--dep", "%s=%s" % (pkg, f.path))
        inputs.append(f)
    if not ctx.attr.validate:
        args.add("--no-validate")
    args.add_all(["-o", out])
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = inputs + [wac],
        outputs = [out],
        mnemonic = "WacCompose",
        progress_message = "Composing %s for %s" % (", ".join([k for k, _, _ in deps]), owner),
    )
    return [
        DefaultInfo(files = depset([out, wac])),
        OutputGroupInfo(generated_wac = depset([generated] if generated else [])),
        WasmComponentInfo(wasm = out, metadata = None, signature = None, package_name = "", reference = "", digest = ""),
    ]

wac_compose_with_oci_rule = rule(
    implementation = _wac_compose_impl,
    doc = "Composes local and OCI components. Use the wac_compose_with_oci macro.",
    attrs = {
        "local_component_labels": attr.label_keyed_string_dict(allow_files = [".wasm"], doc = "Component target -> key (inverted local_components)."),
        "oci_components": attr.string_dict(doc = "Key -> OCI reference host/repo[:tag][@sha256:...] (pulled by a build action)."),
        "oci_component_labels": attr.label_keyed_string_dict(
            providers = [WasmComponentInfo],
            doc = "Component target -> key: components fetched by wasm_component_oci_repository (inverted label values of the macro's oci_components).",
        ),
        "package_names": attr.string_dict(doc = "Key -> WAC package name (`ns:name`)."),
        "package": attr.string(doc = "Package line of a generated composition; default rules-wasm-oci:<name>."),
        "composition": attr.string(doc = "WAC source text."),
        "composition_file": attr.label(allow_single_file = [".wac"]),
        "socket": attr.string(doc = "Generated composition: the key of the component whose exports are exported; default: every component no other one consumes."),
        "import_providers": attr.string_dict(doc = "Generated composition: import name -> key of the component that satisfies it, where several export that name."),
        "registry_config": attr.label(providers = [WasmRegistryConfigInfo]),
        "verify_signatures": attr.bool(default = False),
        "signature_type": attr.string(
            default = "embedded",
            values = ["embedded", "detached"],
            doc = "With verify_signatures: `embedded` signature sections, or `detached` signature artifacts pushed with each OCI image.",
        ),
        "public_key": attr.label(allow_files = True),
        "security_policy": attr.label(providers = [WasmSecurityPolicyInfo]),
        "validate": attr.bool(default = True),
    },
    toolchains = [TOOLCHAIN_TYPE],
)

def _is_label(value):
    return value.startswith("@") or value.startswith("//") or value.startswith(":")

def wac_compose_with_oci(name, local_components = {}, oci_components = {}, **kwargs):
    """Composes local components and components pulled from OCI registries.

    Args:
        name: target name.
        local_components: dict key -> label of a local component.
        oci_components: dict key -> OCI reference (pulled by a build action), or the label of a
            component fetched by wasm_component_oci_repository (`@repo//:component`).
        **kwargs: attributes of wac_compose_with_oci_rule (see docs/rules.md).
    """
    wac_compose_with_oci_rule(
        name = name,
        local_component_labels = invert_label_dict("wac_compose_with_oci local_components", name, local_components),
        oci_components = {k: v for k, v in oci_components.items() if not _is_label(v)},
        oci_component_labels = invert_label_dict("wac_compose_with_oci oci_components", name, {k: v for k, v in oci_components.items() if _is_label(v)}),
        **kwargs
    )

def wac_microservices_app(name, frontend_component, services = {}, registry_config = None, verify_signatures = False, **kwargs):
    """A frontend (local) wired to services pulled from registries.

    Args:
        name: target name.
        frontend_component: label of the local frontend component.
        services: dict key -> OCI reference or label of a fetched component.
        registry_config: a wkg_registry_config target.
        verify_signatures: verify every pulled service (needs public_key in kwargs).
        **kwargs: further wac_compose_with_oci attributes.
    """
    wac_compose_with_oci(
        name = name,
        local_components = {"frontend": frontend_component},
        oci_components = services,
        registry_config = registry_config,
        verify_signatures = verify_signatures,
        **kwargs
    )

def wac_distributed_system(name, components = {}, composition = None, **kwargs):
    """Composes local and OCI components described by one dict.

    Args:
        name: target name.
        components: `{"local": {key: label}, "oci": {key: reference or label of a fetched component}}`.
        composition: WAC source; default: generated (see wac_compose_with_oci).
        **kwargs: further wac_compose_with_oci attributes.
    """
    for k in components:
        if k not in ["local", "oci"]:
            fail("wac_distributed_system %s: components has key \"%s\"; expected \"local\" and/or \"oci\"" % (name, k))
    if composition != None:
        kwargs["composition"] = composition
    wac_compose_with_oci(
        name = name,
        local_components = components.get("local", {}),
        oci_components = components.get("oci", {}),
        **kwargs
    )
