// The `openai` package reads an error's message from `{"error": {"message": …}}` only. vLLM (before 0.10) and SGLang
// answer `{"object": "error", "message": …, "type": …, "code": 400}` at the top level, Ollama `{"error": "text"}`, a proxy
// may answer HTML: the package would then report "400 status code (no body)", and a context-length error would look
// like any other 400. This fetch rewrites such bodies into OpenAI's shape before the package reads them.
import type { ClientOptions } from "openai"

type Fetch = NonNullable<ClientOptions["fetch"]>

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** An error body in OpenAI's shape, or undefined when it is already in it. */
export const openAiErrorBody = (text: string): string | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return JSON.stringify({ error: { message: text.slice(0, 2000), type: "invalid_response", param: null, code: null } })
  }
  if (isRecord(parsed) && isRecord(parsed["error"])) return undefined
  if (isRecord(parsed) && typeof parsed["error"] === "string") {
    return JSON.stringify({ error: { message: parsed["error"], type: "error", param: null, code: null } })
  }
  if (isRecord(parsed) && typeof parsed["message"] === "string") {
    const code = parsed["code"]
    return JSON.stringify({
      error: {
        message: parsed["message"],
        type: typeof parsed["type"] === "string" ? parsed["type"] : "error",
        param: typeof parsed["param"] === "string" ? parsed["param"] : null,
        code: typeof code === "string" ? code : null,
      },
    })
  }
  return JSON.stringify({ error: { message: text.slice(0, 2000), type: "error", param: null, code: null } })
}

/** Wraps `fetch` so that error responses reach the `openai` package in OpenAI's shape. */
export const normalizingFetch = (inner: Fetch = globalThis.fetch): Fetch => async (input, init) => {
  const response = await inner(input, init)
  if (response.ok) return response
  const text = await response.text()
  const body = openAiErrorBody(text) ?? text
  // The text is already decoded: its length and encoding headers no longer describe it.
  const headers = new Headers(response.headers)
  headers.delete("content-length")
  headers.delete("content-encoding")
  headers.set("content-type", "application/json")
  return new Response(body, { status: response.status, statusText: response.statusText, headers })
}
