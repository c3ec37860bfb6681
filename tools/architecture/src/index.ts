// Public API of @swe-gym/architecture: the workspace's layers and the dependency rule.
export * from "./layers.js"
