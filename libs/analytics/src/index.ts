export * from "./tables.js"
export * from "./imported-trajectory.js"
export * from "./import-sources.js"
export * from "./import-trajectories.js"
