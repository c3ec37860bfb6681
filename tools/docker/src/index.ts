// swe-gym-docker as a library: the command tree, for embedding or testing; the executable is main.ts.
export { cli, command } from "./cli.js"
export { BrowserUnavailable, type BrowserInfo, chromiumCommands, chromiumVersion, defaultChromiumInstallLog, ensureChromium } from "./browser.js"
