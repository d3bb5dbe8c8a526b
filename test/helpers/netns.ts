export { TestNetwork } from '../../bench/src/browser/netns.js'
