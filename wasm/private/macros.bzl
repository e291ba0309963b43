"""Macros that combine the rules: image + publish, secure publish."""

load(":image.bzl", "wasm_component_oci_image")
load(":publish.bzl", "wasm_component_publish")
load(":secure_publish.bzl", "wasm_component_secure_publish_rule")

_PUBLISH_KEYS = ["registry_config", "registry_override", "namespace_override", "tag_override", "dry_run"]

def wasm_component_oci_publish(name, component, visibility = None, tags = None, **kwargs):
    """`<name>_image` (wasm_component_oci_image) plus `<name>` (wasm_component_publish: run it to push).

    Args:
        name: name of the publish target.
        component: the component to pack.
        visibility: visibility of both targets.
        tags: tags of both targets.
        **kwargs: wasm_component_oci_image attributes plus registry_config, registry_override,
            namespace_override, tag_override and dry_run for the publish target.
    """
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
    """Signs (when signing_keys is given), checks the policy per registry, publishes where allowed, audits every decision.

    Args:
        name: name of the executable target (`bazel run` it).
        component: the component to publish.
        package_name: repository name; also the component name the policy matches.
        target_registries: registry names (of registry_config) or hosts.
        security_policy: a wasm_security_policy target.
        signing_keys: a wasm_keygen target to sign with, or None.
        registry_config: a wkg_registry_config target.
        namespace: repository namespace.
        audit_log: JSON-lines audit log; relative paths are under the workspace.
        dry_run: only print what would be pushed.
        visibility: visibility of the targets.
        tags: tags of the targets.
        **image_kwargs: wasm_component_oci_image attributes (version, description, ...).
    """
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
