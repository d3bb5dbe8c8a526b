export { freePort } from '../../node-image/src/net/ports.js'
