import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { KUBERNETES_SERVICE_IP } from './constants.js'
import { CertificateError } from './errors.js'

const run = promisify(execFile)

/** PEM files in the cluster dir: one CA signs the serving and the admin client certificates. */
export interface ClusterCertificates {
  readonly caCert: string
  readonly caKey: string
  readonly servingCert: string
  readonly servingKey: string
  /** Client certificate with O=system:masters: every RBAC check passes. */
  readonly adminCert: string
  readonly adminKey: string
  /** Key pair that signs and verifies service-account tokens. */
  readonly serviceAccountKey: string
  readonly serviceAccountPub: string
}

const DAYS = '30'
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** DNS names and IPs the API server's certificate is valid for. */
export const SERVING_SANS = ['IP:127.0.0.1', `IP:${KUBERNETES_SERVICE_IP}`, 'DNS:localhost', 'DNS:kubernetes',
  'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local']

async function openssl (args: string[]): Promise<void> {
  try {
    await run('openssl', args)
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new CertificateError(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr.trim()}`, { cause: err })
  }
}

/** Makes a throwaway CA, the certificates the cluster needs, and a service-account key pair (P-256). */
export async function generateCertificates (dir: string): Promise<ClusterCertificates> {
  const p = (name: string): string => join(dir, name)
  const certs: ClusterCertificates = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub')
  }
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', certs.caKey, '-out', certs.caCert, '-days', DAYS,
    '-subj', '/CN=meganet-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'])
  const signed = (key: string, cert: string, subject: string, extensions: string[]): string[] =>
    ['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', DAYS, '-subj', subject,
      '-CA', certs.caCert, '-CAkey', certs.caKey, '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature', ...extensions.flatMap(e => ['-addext', e])]
  await Promise.all([
    openssl(signed(certs.servingKey, certs.servingCert, '/CN=kube-apiserver',
      ['extendedKeyUsage=serverAuth', `subjectAltName=${SERVING_SANS.join(',')}`])),
    openssl(signed(certs.adminKey, certs.adminCert, '/O=system:masters/CN=meganet-test-admin', ['extendedKeyUsage=clientAuth'])),
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', certs.serviceAccountKey])
      .then(async () => { await openssl(['pkey', '-in', certs.serviceAccountKey, '-pubout', '-out', certs.serviceAccountPub]) })
  ])
  return certs
}

/**
 * A client certificate for user `name` (CN) in system:masters, signed by the cluster CA: a second
 * client that the API server's audit log tells apart from the admin.
 */
export async function generateUserCertificate (dir: string, certs: ClusterCertificates, name: string): Promise<{ cert: string, key: string }> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new CertificateError(`user name ${JSON.stringify(name)}: use lowercase letters, digits and '-'`)
  const user = { cert: join(dir, `user-${name}.crt`), key: join(dir, `user-${name}.key`) }
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', user.key, '-out', user.cert, '-days', DAYS, '-subj', `/O=system:masters/CN=${name}`,
    '-CA', certs.caCert, '-CAkey', certs.caKey, '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=clientAuth'])
  return user
}

/** A kubeconfig with the certificates inlined, so the file works on its own (the admin's by default). */
export async function writeKubeconfig (path: string, server: string, certs: ClusterCertificates,
  client: { cert: string, key: string } = { cert: certs.adminCert, key: certs.adminKey }): Promise<string> {
  const b64 = async (file: string): Promise<string> => (await readFile(file)).toString('base64')
  const text = `apiVersion: v1
kind: Config
clusters:
- name: meganet-test
  cluster:
    server: ${server}
    certificate-authority-data: ${await b64(certs.caCert)}
users:
- name: meganet-test-admin
  user:
    client-certificate-data: ${await b64(client.cert)}
    client-key-data: ${await b64(client.key)}
contexts:
- name: meganet-test
  context:
    cluster: meganet-test
    user: meganet-test-admin
current-context: meganet-test
`
  await writeFile(path, text, { mode: 0o600 })
  return text
}
