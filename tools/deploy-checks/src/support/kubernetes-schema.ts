import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Container, Namespace, Service, Volume } from 'kubernetes-models/v1';
import type { K8sObject } from './manifests';

/**
 * Validation against the Kubernetes OpenAPI schemas, through the typed
 * models of `kubernetes-models` (their `validate()` runs the JSON schema of
 * the kind). Only kinds this repository ships are known: a new kind has to
 * be added here on purpose.
 */
type Model = { validate(): void };
const MODELS: Record<string, new (data: never) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
};

/** Schema problems of one object; empty when it is valid. */
export function schemaProblems(object: K8sObject): string[] {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) return [`${object.apiVersion} ${object.kind} is not a kind these checks know`];
  try {
    new Model(object as never).validate();
    return [];
  } catch (error) {
    return [`${object.kind} ${object.metadata?.name}: ${(error as Error).message}`];
  }
}

/** A Cloud Run (Knative) container or volume is validated as its core/v1 counterpart. */
export function containerProblems(container: unknown): string[] {
  try {
    new Container(container as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

export function volumeProblems(volume: unknown): string[] {
  try {
    new Volume(volume as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
