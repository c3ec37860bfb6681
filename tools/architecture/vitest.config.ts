import { defineConfig } from "vitest/config"
import { sweGymTestConfig } from "@swe-gym/test-config"

export default defineConfig(sweGymTestConfig())
