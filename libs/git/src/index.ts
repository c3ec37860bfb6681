// Public API of @swe-gym/git: running git (one GitFailed error) and bare mirrors.
export * from "./git.js"
export * from "./mirrors.js"
