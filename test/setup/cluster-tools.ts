import { provideTools } from './tools.js'

/**
 * Global setup of the `cluster` project: the Kubernetes binaries, helm and the images, which take
 * most of a cold CI run to build. The project runs last so that the other tests run meanwhile
 * (.ci/run starts these builds first; here the scripts wait on their locks, then print the paths).
 */
export default async function setup (): Promise<void> {
  await provideTools([
    { path: 'test/cluster/provision.sh' },
    // `node`: the kubelet, kube-proxy and CoreDNS. The images' binaries (the other part) are
    // build-images.sh's to build; each part has its own lock.
    { path: 'test/cluster/provision-node.sh', args: ['node'] },
    { path: 'test/images/build-images.sh' }
  ])
}
