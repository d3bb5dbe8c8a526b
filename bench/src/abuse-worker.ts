#!/usr/bin/env node
import { ATTACKS } from './abuse-attacks.js'
import type { AttackTarget } from './abuse-attacks.js'

/**
 * Runs one attack of the abuse benchmark in a process of its own, as it would run on the
 * attacker's machines: the honest peers' event loop is not the attacker's. Usage:
 * `abuse-worker <attack> <target JSON>`; prints `ready` once attacking, stops on SIGTERM and
 * prints `{"attempts":n}`; exits when its stdin closes.
 */
const [name, targetJson] = process.argv.slice(2)
const attack = ATTACKS.find(a => a.name === name)
if (attack == null || targetJson == null) {
  process.stderr.write(`usage: abuse-worker <${ATTACKS.map(a => a.name).join('|')}> <target JSON>\n`)
  process.exit(2)
}
// The benchmark holds our stdin open: when it ends (the benchmark was killed or timed out before
// it could stop us), so do we, instead of attacking on with no one to stop us.
process.stdin.resume()
process.stdin.once('end', () => { process.exit(3) })
const running = await attack.start(JSON.parse(targetJson) as AttackTarget)
process.stdout.write('ready\n')
process.once('SIGTERM', () => {
  void running.stop().then(attempts => {
    process.stdout.write(`${JSON.stringify({ attempts })}\n`)
    process.exit(0)
  })
})
