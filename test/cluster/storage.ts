import { rm } from 'node:fs/promises'
import { HOSTPATH_PROVISIONER, HOSTPATH_PV_ROOT, TEST_STORAGE_CLASS } from './constants.js'
import type { V1PersistentVolume, V1StorageClass } from '@kubernetes/client-node'

/**
 * The cluster's default StorageClass. PVCs (a StatefulSet's volumeClaimTemplates among them) get a
 * hostPath PV from the controller-manager's in-tree provisioner (--enable-hostpath-provisioner)
 * as soon as they are created (`Immediate`), and lose it when they are deleted (`Delete`).
 * kwok pods mount nothing, so the hostPath directory (an empty dir under /tmp/hostpath_pv/) is
 * only a name.
 */
export function testStorageClass (): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: TEST_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: HOSTPATH_PROVISIONER,
    volumeBindingMode: 'Immediate',
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true
  }
}

/**
 * Removes the directories the hostPath provisioner made for these PVs (it makes one per volume
 * under /tmp/hostpath_pv/, whatever TMPDIR says, and removes it only when the PVC is deleted).
 */
export async function removeHostPathDirs (volumes: readonly V1PersistentVolume[]): Promise<void> {
  const dirs = volumes.map(v => v.spec?.hostPath?.path)
    .filter((p): p is string => p != null && p.startsWith(HOSTPATH_PV_ROOT) && !p.slice(HOSTPATH_PV_ROOT.length).includes('/'))
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
}
