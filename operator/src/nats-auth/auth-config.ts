import { keyId, natsAccountOfPeerId, natsUserOfPeerId, operatorPermissions } from '@meganet/fleet-client'
import { MEGANET_ACCOUNT } from './auth-callout.js'
import type { Kube } from '../kube/kube-client.js'
import type { SigningKey } from '@meganet/fleet-client'
import type { V1ConfigMap } from '@kubernetes/client-node'

/** The key of the ConfigMap that nats-server includes (charts/meganet: `nats.config.merge`). */
export const AUTH_CONFIG_KEY = 'auth.conf'

/**
 * The part of nats-server's config that locks it down: one account for the fleets, whose only
 * configured user is the operator (its command key as an nkey, with the operator's permissions
 * and the auth callout subject), and every other login decided by the operator's callout.
 * Nothing secret: public keys and permissions only. JSON values are valid NATS config.
 */
export function natsAuthConfig (key: SigningKey): string {
  const id = keyId(key)
  const operatorUser = natsUserOfPeerId(id)
  const accounts = {
    [MEGANET_ACCOUNT]: {
      jetstream: 'enabled',
      users: [{ nkey: operatorUser, permissions: operatorPermissions({ authCallout: true }) }]
    }
  }
  const authorization = {
    auth_callout: { issuer: natsAccountOfPeerId(id), account: MEGANET_ACCOUNT, auth_users: [operatorUser] }
  }
  return [
    '# Written by the MegaNet operator from its command key; anchors are admitted by its auth callout.',
    `accounts: ${JSON.stringify(accounts, null, 2)}`,
    `authorization: ${JSON.stringify(authorization, null, 2)}`,
    ''
  ].join('\n')
}

/**
 * Writes the auth config into the ConfigMap that the NATS pods mount (they wait for it), so the
 * keys in it always match the operator's command key. Every replica writes the same content.
 */
export async function publishNatsAuthConfig (kube: Kube, target: { namespace: string, name: string }, key: SigningKey): Promise<void> {
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: target.name, namespace: target.namespace, labels: { 'app.kubernetes.io/part-of': 'meganet', 'app.kubernetes.io/component': 'nats-auth' } },
    data: { [AUTH_CONFIG_KEY]: natsAuthConfig(key) }
  }
  await kube.apply(configMap)
}
