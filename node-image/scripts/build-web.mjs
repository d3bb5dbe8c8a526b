// Bundles the browser build of the peer library and the web app with esbuild, into dist/web/.
// Run by `npm run build` after `tsc -b` (it bundles the compiled dist/, so package.json's
// "browser" field swaps in dist/peer/platform.browser.js). Fails when anything Node-only would
// end up in the bundle.
/* global console, process */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const out = join(root, 'dist', 'web')

/** Compiled modules of this package that must never reach a page. */
const NODE_ONLY = [
  /node-image\/dist\/peer\/platform\.js$/,
  /node-image\/dist\/files\/(put-file|get-file|progress)\.js$/,
  /node-image\/dist\/(anchor|cli|coordination|devnet|storage|http|identity|metrics|transports)\//,
  /node_modules\/@libp2p\/tcp\//
]

const result = await build({
  absWorkingDir: root,
  entryPoints: { meganet: 'dist/browser/index.js', app: 'web/app.ts' },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked'
})

const bundled = Object.keys(result.metafile.inputs)
const leaked = bundled.filter(input => NODE_ONLY.some(pattern => pattern.test(input)) || input.startsWith('node:'))
if (leaked.length > 0) {
  console.error(`build-web: Node-only modules reached the browser bundle:\n  ${leaked.join('\n  ')}`)
  process.exit(1)
}

await mkdir(out, { recursive: true })
await copyFile(join(root, 'web', 'index.html'), join(out, 'index.html'))
await copyFile(join(root, 'web', 'app.css'), join(out, 'app.css'))
await copyFile(join(root, 'web', 'icon.svg'), join(out, 'icon.svg'))
await writeFile(join(out, 'meta.json'), JSON.stringify(result.metafile))
const bytes = Object.entries(result.metafile.outputs).filter(([name]) => name.endsWith('.js')).reduce((sum, [, output]) => sum + output.bytes, 0)
console.error(`build-web: dist/web (${bundled.length} modules, ${(bytes / 1024).toFixed(0)} KiB of JavaScript)`)
