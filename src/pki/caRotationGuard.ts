// The CA rotation guard as resources: it reads where each CA's rotation stood at the last
// deployment from the cluster's records (one listing for every guard), refuses a step that skips a
// stage before any PKI resource is registered, and records the stages once they are deployed.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeploymentRecords, listedValue, recordName, RECORD_LEAVES, recordParameter } from "../core/deploymentRecord";
import { withDependency } from "../core/rules";
import { caRotationCheck, CaRotationRecord, caRotationRecordValue } from "./caRotation";
import { EtcdPki } from "./etcdPki";

export interface CaRotationGuard {
    /** The record's parameter name: `/secure-etcd/<project>/<stack>/<component>/ca-rotation`. */
    parameterName: string;
    /**
     * For `dependsOn` of every PKI resource: resolves (to no resource) once the stages in the
     * program are a safe step from the recorded ones, and rejects with the refusal otherwise.
     */
    afterCheck: pulumi.Output<pulumi.Resource[]>;
}

export function caRotationGuard(
    component: pulumi.Resource,
    clusterName: string,
    records: DeploymentRecords,
    next: CaRotationRecord,
): CaRotationGuard {
    const parameterName = recordName(records, RECORD_LEAVES.caRotation);
    // A cluster with a key-ring record but no CA record was deployed before CA rotation existed.
    const keyRingName = recordName(records, RECORD_LEAVES.keyRing);
    const afterCheck = records.listing.apply((listing): pulumi.Resource[] => {
        const recorded = listedValue(listing, parameterName);
        const deployedBefore = listedValue(listing, keyRingName) !== undefined;
        const refusal = caRotationCheck(clusterName, parameterName, recorded, deployedBefore, next);
        if (refusal !== undefined) {
            // Shown as it is, against the cluster: the stack would say nothing useful.
            throw new pulumi.ResourceError(refusal, component, true);
        }
        return [];
    });
    return { parameterName, afterCheck };
}

/**
 * Records the stages in the program as the deployed ones, once every PKI resource and everything in
 * `after` (where the nodes' and kube-apiserver's bundles are stored) is deployed: an update that
 * fails before then leaves the previous record, never one ahead of AWS.
 */
export function recordCaRotation(
    pki: EtcdPki,
    clusterName: string,
    guard: CaRotationGuard,
    state: CaRotationRecord,
    after: pulumi.Resource[],
): aws.ssm.Parameter {
    return recordParameter(
        `${pki.resourceName}-ca-rotation-record`,
        {
            parameterName: guard.parameterName,
            value: caRotationRecordValue(state),
            description:
                "Where the rotation of the etcd CA and of the peer CA stood (generation and stage, no key material) at the last deployment of the etcd cluster the path names; its CA rotation guard compares every update with it (secure-etcd)",
            clusterName,
        },
        // The resources as they are, not inside an Output: the SDK walks an Output's value at every
        // step, and a resource reaches, through its parent and provider, every other one.
        withDependency({ parent: pki, dependsOn: [...pki.resources, ...after] }, guard.afterCheck),
    );
}
