// The stack as a tree: which resources a SecureEtcdCluster (or one of its child components) owns,
// found by walking `parent` links, and which resource a property refers to, found through the
// engine's property dependencies (known even when the value itself is not, during a preview).
import { PolicyResource } from "@pulumi/policy";
import { COMPONENT } from "./types";
import { plainProps, Props, readString, UNKNOWN, Unknown } from "./values";

/** Walks up the parent chain, nearest first. */
export function* ancestors(resource: PolicyResource): Generator<PolicyResource> {
    const seen = new Set<string>();
    for (let p = resource.parent; p !== undefined && !seen.has(p.urn); p = p.parent) {
        seen.add(p.urn);
        yield p;
    }
}

/** The nearest ancestor of a type (one of several), if any. */
export function ancestorOfType(resource: PolicyResource, types: readonly string[]): PolicyResource | undefined {
    for (const a of ancestors(resource)) {
        if (types.includes(a.type)) {
            return a;
        }
    }
    return undefined;
}

/** The SecureEtcdCluster a resource belongs to, if any. */
export function clusterOf(resource: PolicyResource): PolicyResource | undefined {
    return ancestorOfType(resource, [COMPONENT.cluster]);
}

export function isDescendantOf(resource: PolicyResource, ancestor: PolicyResource): boolean {
    for (const a of ancestors(resource)) {
        if (a.urn === ancestor.urn) {
            return true;
        }
    }
    return false;
}

export function ofType(resources: PolicyResource[], types: string | readonly string[]): PolicyResource[] {
    const wanted = typeof types === "string" ? [types] : types;
    return resources.filter((r) => wanted.includes(r.type));
}

export function propsOf(resource: PolicyResource): Props {
    return plainProps(resource.props);
}

/** The URNs a property's value was computed from (empty when it was a plain value). */
export function dependencyUrns(resource: PolicyResource, property: string): string[] {
    return (resource.propertyDependencies?.[property] ?? []).map((d) => d.urn);
}

/**
 * Whether a property refers to a target resource: by dependency (robust in previews), or by value
 * (`matches` compares the known value with the target's identifiers). UNKNOWN when it cannot tell.
 */
export function refersTo(
    resource: PolicyResource,
    property: string,
    target: PolicyResource,
    identifiers: readonly string[],
): boolean | Unknown {
    if (dependencyUrns(resource, property).includes(target.urn)) {
        return true;
    }
    const value = readString(propsOf(resource)[property]);
    if (value === UNKNOWN) {
        return UNKNOWN;
    }
    return value !== undefined && identifiers.includes(value);
}

/** A short, stable way to name a resource in a message. */
export function labelOf(resource: PolicyResource): string {
    return `${resource.type.split(":").pop()} "${resource.name}"`;
}
