// The real trajectories and datasets of the workspace's shared folder (beside the repository, here and in CI). A test
// that needs them fails with the path it looked at when they are missing: it never skips.
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(fileURLToPath(new URL("../../../", import.meta.url)))

/** The shared folder: $SWE_GYM_SHARED, else `../shared` beside the repository. */
export const sharedDir = (): string => {
  const dir = process.env["SWE_GYM_SHARED"] ?? join(repoRoot, "..", "shared")
  if (!existsSync(join(dir, "trajectories"))) {
    throw new Error(`the shared test material is not at ${dir} (expected trajectories/ and datasets/ there); set SWE_GYM_SHARED`)
  }
  return dir
}

export const trajectoriesDir = (): string => join(sharedDir(), "trajectories")
export const datasetsDir = (): string => join(sharedDir(), "datasets")
