export { chromiumPath, launchChromium } from '../../bench/src/browser/chromium.js'
export type { ChromiumOptions } from '../../bench/src/browser/chromium.js'
