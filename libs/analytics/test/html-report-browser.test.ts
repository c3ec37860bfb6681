// The HTML report opened in a real headless Chromium: the page draws five charts, and what Chart.js drew (each canvas's
// data-drawn record, read back from the browser's DOM) matches the fixture's hand-computed values; a screenshot shows the
// bars and lines in the page's palette inside each chart's plot area. Chromium comes from SWE_GYM_CHROMIUM or PATH (npm
// test's set-up, `swe-gym-docker browser`, installs it); without one the test fails, it never skips. Every request
// Chromium makes beyond this machine goes to a loopback proxy that keeps them: the page is self-contained, so there must
// be none.
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Schema } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { Duplex } from "node:stream"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { PNG } from "pngjs"
import { analyticsMigrations, writeReport } from "../src/index.js"
import { writeFixture } from "./analysis-fixture.js"

/** SWE_GYM_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH (as `swe-gym-docker browser` looks). */
const findChromium = (): string => {
  const named = process.env["SWE_GYM_CHROMIUM"] ?? ""
  if (named !== "") {
    if (!fs.statSync(named, { throwIfNoEntry: false })?.isFile()) throw new Error(`SWE_GYM_CHROMIUM names ${named}, which is not a file`)
    return named
  }
  const directories = (process.env["PATH"] ?? "").split(path.delimiter).filter((d) => d !== "")
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const directory of directories) {
      const candidate = path.join(directory, name)
      try {
        fs.accessSync(candidate, fs.constants.X_OK)
        if (fs.statSync(candidate).isFile()) return candidate
      } catch {
        // not here
      }
    }
  }
  throw new Error("no Chromium: run `npm test` (its set-up installs it) or set SWE_GYM_CHROMIUM")
}

// The window holds the whole page (five 900×450 charts and the tables come to about 3,050 px), so the screenshot shows it all.
const windowSize = { width: 1280, height: 3200 }

/** A server on 127.0.0.1 that answers every request with 502 and keeps "METHOD url" of each (CONNECT too, then hangs up). */
const loopbackServer = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly requests: Array<string>; readonly server: http.Server }>((resume) => {
    const requests: Array<string> = []
    const server = http.createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`)
      response.writeHead(502).end()
    })
    server.on("connect", (request: http.IncomingMessage, socket: Duplex) => {
      requests.push(`CONNECT ${request.url}`)
      socket.destroy()
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return resume(Effect.die(new Error(`not a TCP address: ${address}`)))
      resume(Effect.succeed({ port: address.port, requests, server }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void))),
)

const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })),
  )

/** Runs headless Chromium on `page` with `action` (--dump-dom, --screenshot=…); its stdout. Fails with its stderr's tail. */
const chromium = (browser: string, ports: { readonly proxy: number; readonly services: number }, action: string, page: string) =>
  Effect.gen(function*() {
    const profile = yield* tempDir("swe-gym-chromium-profile-")
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      `--window-size=${windowSize.width},${windowSize.height}`,
      // One screenshot pixel per CSS pixel, whatever the machine's display scale.
      "--force-device-scale-factor=1",
      // Debian's Chromium 156 still calls three services of its own with the flags above: the network-time query (switched
      // off), the component updater's on-demand download of the optimization guide's model manifest and a sign-in (GAIA)
      // request (both sent to a loopback server instead). Anything else bound beyond this machine reaches the proxy.
      "--disable-features=NetworkTimeServiceQuerying",
      `--component-updater=url-source=http://127.0.0.1:${ports.services}/update/`,
      `--gaia-url=http://127.0.0.1:${ports.services}/`,
      `--proxy-server=http://127.0.0.1:${ports.proxy}`,
      action,
      pathToFileURL(page).href,
    ]
    return yield* Effect.async<string, Error>((resume) => {
      const child = execFile(browser, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error === null) return resume(Effect.succeed(stdout))
        resume(Effect.fail(new Error(`${browser} ${action} failed: ${error.message}\n--- stderr ---\n${stderr.slice(-3000)}`)))
      })
      return Effect.sync(() => void child.kill("SIGKILL"))
    })
  }).pipe(Effect.scoped)

const Point = Schema.Tuple(Schema.Number, Schema.Number, Schema.NullOr(Schema.Number))
/** The record the page's chartsScript leaves on each canvas as data-drawn. */
const Drawn = Schema.Struct({
  type: Schema.Literal("bar", "line"),
  labels: Schema.Array(Schema.String),
  box: Schema.Struct({ left: Schema.Number, top: Schema.Number, width: Schema.Number, height: Schema.Number }),
  area: Schema.Struct({ left: Schema.Number, top: Schema.Number, right: Schema.Number, bottom: Schema.Number }),
  datasets: Schema.Array(Schema.Struct({ label: Schema.String, color: Schema.String, data: Schema.Array(Schema.NullOr(Schema.Number)), points: Schema.Array(Point) })),
})
type Drawn = typeof Drawn.Type
const decodeDrawn = Schema.decodeUnknownSync(Schema.parseJson(Drawn))

const unescapeAttribute = (value: string) =>
  value.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&nbsp;", "\u00a0").replaceAll("&amp;", "&")

interface Canvas {
  readonly width: number
  readonly height: number
  readonly drawn: Drawn
}

/** The body's attributes and every canvas of the DOM Chromium dumped, by id. */
const readDom = (dom: string) => {
  const body = /<body([^>]*)>/.exec(dom)?.[1] ?? ""
  const canvases = new Map<string, Canvas>()
  for (const [, id = "", attributes = ""] of dom.matchAll(/<canvas id="([^"]+)"([^>]*)>/g)) {
    const attribute = (name: string) => unescapeAttribute(new RegExp(` ${name}="([^"]*)"`).exec(attributes)?.[1] ?? "")
    canvases.set(id, { width: Number(attribute("width")), height: Number(attribute("height")), drawn: decodeDrawn(attribute("data-drawn")) })
  }
  return { body, canvases }
}

/** Writes the fixture's report into a fresh directory (removed at scope end); returns index.html's path. */
const fixtureReport = Effect.gen(function*() {
  const dir = yield* tempDir("analytics-report-browser-")
  yield* writeFixture
  return yield* writeReport(path.join(dir, "report"))
}).pipe(Effect.provide(Layer.merge(Store.layer({ path: ":memory:", migrations: analyticsMigrations }), NodeFileSystem.layer)))

/** The fixture's report opened in Chromium: the page, the DOM after the scripts ran, and the proxy's request log. */
const openedReport = Effect.gen(function*() {
  const browser = findChromium()
  const proxy = yield* loopbackServer
  // Chromium's own services (see `chromium`) answer here; what they ask is theirs, not the page's, and is not checked.
  const services = yield* loopbackServer
  const ports = { proxy: proxy.port, services: services.port }
  const page = yield* fixtureReport
  const { body, canvases } = readDom(yield* chromium(browser, ports, "--dump-dom", page))
  return { browser, ports, proxy, page, body, canvases }
})

const chartIds = ["chart-success", "chart-passk", "chart-exit", "chart-turns", "chart-tokens"] as const

const canvasOf = (canvases: ReadonlyMap<string, Canvas>, id: string): Canvas => {
  const canvas = canvases.get(id)
  if (canvas === undefined) throw new Error(`the dumped DOM has no <canvas id="${id}"> (it has ${[...canvases.keys()].join(", ")})`)
  return canvas
}

/** Each dataset as label → values, the way a reader compares it with the analyses. */
const valuesOf = (drawn: Drawn) => drawn.datasets.map((d) => ({ label: d.label, data: d.data }))

/** [r, g, b] of "#rrggbb". */
const rgb = (hex: string): readonly [number, number, number] => {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex)
  if (m === null) throw new Error(`not a #rrggbb colour: ${hex}`)
  return [Number.parseInt(m[1] ?? "", 16), Number.parseInt(m[2] ?? "", 16), Number.parseInt(m[3] ?? "", 16)]
}

describe("the HTML report in headless Chromium", () => {
  it.scoped("draws five charts whose data, as Chart.js drew it, is the fixture's hand-computed values", () =>
    Effect.gen(function*() {
      const { body, canvases, proxy } = yield* openedReport
      expect(body).toContain('data-charts-drawn="5"')
      expect([...canvases.keys()]).toEqual([...chartIds])

      const success = canvasOf(canvases, "chart-success").drawn
      expect(success.type).toBe("bar")
      expect(success.labels).toEqual(["0", "1", "2", "3"])
      expect(valuesOf(success)).toEqual([{ label: "A", data: [2, 1, 0, 1] }])

      // Pass@k of o__r1-1 (3 of 3), o__r0-2 and o__r0-3 (0 of 1), o__r0-4 (1 of 1); no verifier, so no Best@k line.
      const passk = canvasOf(canvases, "chart-passk").drawn
      expect(passk.type).toBe("line")
      expect(passk.labels).toEqual(["1", "2", "3"])
      expect(valuesOf(passk)).toEqual([{ label: "A Pass@k", data: [0.5, 1, 1] }, { label: "A Best@k", data: [null, null, null] }])

      const exit = canvasOf(canvases, "chart-exit").drawn
      expect(exit.labels).toEqual(["A", "B"])
      expect(valuesOf(exit)).toEqual([{ label: "submitted", data: [7, 1] }])

      // Turns: A 3 4 2 4 1 3 2, B 0, over the shared bins 0..4.
      const turns = canvasOf(canvases, "chart-turns").drawn
      expect(turns.labels).toEqual(["0", "1", "2", "3", "4"])
      expect(valuesOf(turns)).toEqual([{ label: "A", data: [0, 1, 2, 2, 2] }, { label: "B", data: [1, 0, 0, 0, 0] }])

      // Tokens over 100..700 in 20 bins of 30: qwen3 counts 100 (o__r1-1/0's four messages), reported usage 500 and 700.
      const tokens = canvasOf(canvases, "chart-tokens").drawn
      expect(tokens.labels).toEqual(Array.from({ length: 20 }, (_, i) => String(100 + 30 * i)))
      const oneAt = (...bins: ReadonlyArray<number>) => Array.from({ length: 20 }, (_, i) => (bins.includes(i) ? 1 : 0))
      expect(valuesOf(tokens)).toEqual([{ label: "A (qwen3)", data: oneAt(0) }, { label: "A (reported usage)", data: oneAt(13, 19) }])

      for (const id of chartIds) {
        const { width, height, drawn } = canvasOf(canvases, id)
        // Chart.js sized the canvas (900×450 at the page's max-width) and laid out a plot area inside it.
        expect({ id, width, height }).toEqual({ id, width: 900, height: 450 })
        expect(drawn.box.width * drawn.box.height).toBeGreaterThan(0)
        expect(drawn.area.right - drawn.area.left).toBeGreaterThan(600)
        expect(drawn.area.bottom - drawn.area.top).toBeGreaterThan(300)
        expect(drawn.box.top + drawn.box.height).toBeLessThanOrEqual(windowSize.height)
        for (const d of drawn.datasets) expect(d.points).toHaveLength(drawn.labels.length)
        if (drawn.type !== "bar") continue
        // Every bar's drawn height is its value times one scale: the bars show the data, not just that there is a chart.
        const heights = drawn.datasets.flatMap((d) => d.points.map(([, y, base], i) => ({ value: d.data[i] ?? 0, height: (base ?? y) - y })))
        const positive = heights.filter((h) => h.value > 0)
        const scale = (positive[0]?.height ?? 0) / (positive[0]?.value ?? 1)
        expect(scale).toBeGreaterThan(0)
        for (const h of heights) expect(Math.abs(h.height - h.value * scale)).toBeLessThanOrEqual(1)
      }
      // The line's points sit at their values on the 0..1 axis.
      const axis = (v: number) => passk.area.bottom - v * (passk.area.bottom - passk.area.top)
      for (const [i, v] of [0.5, 1, 1].entries()) expect(Math.abs((passk.datasets[0]?.points[i]?.[1] ?? -1) - axis(v))).toBeLessThanOrEqual(1)

      expect(proxy.requests).toEqual([])
    }),
    120_000,
  )

  it.scoped("a screenshot of the window shows every chart's bars and lines in the page's colours", () =>
    Effect.gen(function*() {
      const { browser, ports, proxy, page, canvases } = yield* openedReport
      const shots = yield* tempDir("swe-gym-report-shot-")
      const file = path.join(shots, "report.png")
      yield* chromium(browser, ports, `--screenshot=${file}`, page)
      const keep = process.env["SWE_GYM_KEEP_SCREENSHOT"] ?? ""
      if (keep !== "") fs.copyFileSync(file, keep)
      const png = PNG.sync.read(fs.readFileSync(file))
      expect({ width: png.width, height: png.height }).toEqual(windowSize)

      const pixel = (x: number, y: number) => {
        const at = (Math.floor(y) * png.width + Math.floor(x)) * 4
        return [png.data[at] ?? -1, png.data[at + 1] ?? -1, png.data[at + 2] ?? -1] as const
      }
      const near = (p: readonly [number, number, number], colour: readonly [number, number, number]) =>
        p.every((c, i) => Math.abs(c - (colour[i] ?? 0)) <= 8)
      /** Pixels of `colour` inside the plot area of `drawn` (page coordinates = canvas box + plot area). */
      const inPlotArea = (drawn: Drawn, colour: readonly [number, number, number]) => {
        let n = 0
        for (let y = Math.ceil(drawn.box.top + drawn.area.top); y < drawn.box.top + drawn.area.bottom; y++) {
          for (let x = Math.ceil(drawn.box.left + drawn.area.left); x < drawn.box.left + drawn.area.right; x++) if (near(pixel(x, y), colour)) n++
        }
        return n
      }

      const found: Array<string> = []
      for (const id of chartIds) {
        const { drawn } = canvasOf(canvases, id)
        for (const d of drawn.datasets) {
          const colour = rgb(d.color)
          const drawsSomething = d.data.some((v) => v !== null && v > 0)
          const count = inPlotArea(drawn, colour)
          found.push(`${id} ${d.label} ${d.color}: ${count} px`)
          if (!drawsSomething) {
            // A dataset with nothing to draw (Best@k without a verifier) leaves no trace in the plot area.
            expect({ id, label: d.label, count }).toEqual({ id, label: d.label, count: 0 })
            continue
          }
          // The smallest trace is one bar of the tokens chart (20 bins × 2 datasets in 870 px: about 17 × 390 px) or the
          // 3 px Pass@k line, half of whose level stretch at 1.0 is clipped at the plot's top edge (about 1,400 px here).
          expect({ id, label: d.label, enough: count > 1_000 }).toEqual({ id, label: d.label, enough: true })
          if (drawn.type !== "bar") continue
          // The middle of each non-empty bar, as Chart.js placed it, is the dataset's colour on the screenshot.
          for (const [i, [x, y, base]] of d.points.entries()) {
            if ((d.data[i] ?? 0) <= 0) continue
            const at = pixel(drawn.box.left + x, drawn.box.top + (y + (base ?? y)) / 2)
            expect({ id, label: d.label, bar: i, colour: near(at, colour) ? d.color : at }).toEqual({ id, label: d.label, bar: i, colour: d.color })
          }
        }
      }
      expect(found.length).toBe(8)
      expect(proxy.requests).toEqual([])
    }),
    120_000,
  )
})
