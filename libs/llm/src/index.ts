export * from "./llm-client.js"
