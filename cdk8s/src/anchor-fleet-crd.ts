import { ApiObject } from 'cdk8s'
import { ANCHOR_FLEET, anchorFleetSpecSchema, anchorFleetStatusSchema, structuralSchema } from '@meganet/contracts'
import type { Construct } from 'constructs'

export interface AnchorFleetCrdProps {
  /** Adds `helm.sh/resource-policy: keep` so `helm uninstall` leaves fleets alone. */
  readonly keep?: boolean
}

/** The AnchorFleet CustomResourceDefinition, its schema generated from the contracts. */
export class AnchorFleetCrd extends ApiObject {
  constructor (scope: Construct, id: string, props: AnchorFleetCrdProps = {}) {
    super(scope, id, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: `${ANCHOR_FLEET.plural}.${ANCHOR_FLEET.group}`,
        ...(props.keep === true ? { annotations: { 'helm.sh/resource-policy': 'keep' } } : {})
      },
      spec: {
        group: ANCHOR_FLEET.group,
        scope: 'Namespaced',
        names: {
          kind: ANCHOR_FLEET.kind,
          plural: ANCHOR_FLEET.plural,
          singular: ANCHOR_FLEET.singular,
          shortNames: [...ANCHOR_FLEET.shortNames],
          listKind: `${ANCHOR_FLEET.kind}List`
        },
        versions: [{
          name: ANCHOR_FLEET.version,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' }
          },
          additionalPrinterColumns: [
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Peers', type: 'integer', jsonPath: '.status.totals.peers', priority: 1 },
            { name: 'Peered', type: 'string', jsonPath: '.status.conditions[?(@.type=="Peered")].status', priority: 1 },
            { name: 'Region', type: 'string', jsonPath: '.spec.region', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A fleet of MegaNet anchors in one region.',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structuralSchema(anchorFleetSpecSchema),
                status: structuralSchema(anchorFleetStatusSchema)
              },
              required: ['spec']
            }
          }
        }]
      }
    })
  }
}
