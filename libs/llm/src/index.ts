export * from "./llm-client.js"
export * from "./openai-llm-client.js"
export * from "./text-tool-calls.js"
export { isContextLengthError, retryAfterOf } from "./internal/failure-classes.js"
