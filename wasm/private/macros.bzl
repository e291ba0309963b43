"""Macros that combine the rules: image + publish, secure publish."""

load(":image.bzl", "wasm_component_oci_image")
load(":publish.bzl", "wasm_component_publish")
load(":secure_publish.bzl", "wasm_component_secure_publish_rule")

_PUBLISH_KEYS = ["registry_config", "registry_override", "namespace_override", "tag_override", "dry_run"]

def wasm_component_oci_publish(name, component, visibility = None, tags = None, **kwargs):
    """`<name>_image` (wasm_component_oci_image) + `<name>` (wasm_component_publish, run it to push)."""
    publish_kwargs = {k: kwargs.pop(k) for k in _PUBLISH_KEYS if k in kwargs}
    wasm_component_oci_image(name = name + "_image", component = component, visibility = visibility, tags = tags, **kwargs)
    wasm_component_publish(name = name, oci_image = ":" + name + "_image", visibility = visibility, tags = tags, **publish_kwargs)

def wasm_component_secure_publish(
        name,
        component,
        package_name,
        target_registries,
        security_policy,
        signing_keys = None,
        registry_config = None,
        namespace = "",
        audit_log = "wasm-oci-audit.jsonl",
        dry_run = False,
        visibility = None,
        tags = None,
        **image_kwargs):
    """Signs (when signing_keys is given), checks the policy per registry, publishes where allowed, audits every decision."""
    wasm_component_oci_image(
        name = name + "_image",
        component = component,
        package_name = package_name,
        namespace = namespace,
        sign_component = signing_keys != None,
        signing_keys = signing_keys,
        visibility = visibility,
        tags = tags,
        **image_kwargs
    )
    wasm_component_secure_publish_rule(
        name = name,
        oci_image = ":" + name + "_image",
        security_policy = security_policy,
        target_registries = target_registries,
        registry_config = registry_config,
        namespace = namespace,
        audit_log = audit_log,
        dry_run = dry_run,
        visibility = visibility,
        tags = tags,
    )
