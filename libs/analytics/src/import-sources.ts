// The import sources: each format's files as a Stream of items (a trajectory, a grading, a task instance, or the
// reject of a line or file that did not decode). Files are read one at a time per worker and converted as they stream,
// so a directory of thousands of trajectories imports in flat memory.
import { FileSystem } from "@effect/platform"
import {
  decodeJsonlLine,
  isBlankJsonlLine,
  type JsonlIoError,
  jsonlErrorFromPlatform,
  jsonlLines,
  type JsonlReject,
  TestIdList,
} from "@swe-gym/domain"
import type { QueryDecodeFailed, QueryFailed, Store } from "@swe-gym/store"
import { Effect, Either, Schema, Stream } from "effect"
import { basename, dirname, join } from "node:path"
import type { EvaluationRecord, ImportedTrajectory, InstanceRecord } from "./imported-trajectory.js"
import { decodeJsonText, fileExists, readText } from "./imports/file-decoding.js"
import { fromMiniSweAgent, MiniSweAgentTrajectory } from "./imports/mini-swe-agent.js"
import { fromOpenHands, OpenHandsOutput } from "./imports/openhands.js"
import { fromRolloutLine, RolloutLine, rolloutsOfDatabase } from "./imports/rollouts.js"
import { fromSweAgent, SweAgentTrajectory } from "./imports/swe-agent.js"
import { gradingsOfReport, Prediction, ReportFile } from "./imports/swe-bench-report.js"

/** The formats `importTrajectories` reads. */
export const ImportFormat = Schema.Literal("openhands", "mini-swe-agent", "swe-agent", "swe-bench", "trajectory", "rollouts", "instances")
export type ImportFormat = typeof ImportFormat.Type

/** One thing an import found. */
export type ImportItem =
  | { readonly _tag: "trajectory"; readonly value: ImportedTrajectory }
  | { readonly _tag: "grading"; readonly instance_id: string; readonly patch: string; readonly evaluation: EvaluationRecord }
  | { readonly _tag: "instance"; readonly value: InstanceRecord; readonly dataset: string | null; readonly file: string }
  | { readonly _tag: "reject"; readonly reject: JsonlReject }

/** What every source needs to know besides its files. */
export interface SourceOptions {
  /** The run id of every trajectory (default: `<format>:<name of the file's directory>`). */
  readonly runId?: string
  /** Overrides the model name the files give. */
  readonly model?: string
  /** The dataset the instances come from (e.g. `swe-bench-verified`). */
  readonly dataset?: string
  /** Files read and converted at once (default 4). */
  readonly concurrency?: number
}

const trajectory = (value: ImportedTrajectory): ImportItem => ({ _tag: "trajectory", value })
const reject = (r: JsonlReject): ImportItem => ({ _tag: "reject", reject: r })

const defaultRunId = (format: string, file: string, options: SourceOptions): string =>
  options.runId ?? `${format}:${basename(dirname(file)) || "."}`

/** The files under `paths` whose names end with `suffix` (a path that is a file is taken as it is), sorted. */
export const expandPaths = (
  paths: ReadonlyArray<string>,
  suffix: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<string>, JsonlIoError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const out: Array<string> = []
    for (const path of paths) {
      const info = yield* fs.stat(path).pipe(Effect.mapError(jsonlErrorFromPlatform(path, "read")))
      if (info.type !== "Directory") {
        out.push(path)
        continue
      }
      const entries = yield* fs.readDirectory(path, { recursive: true }).pipe(Effect.mapError(jsonlErrorFromPlatform(path, "read")))
      out.push(...entries.filter((e) => suffix.some((s) => e.endsWith(s))).sort().map((e) => join(path, e)))
    }
    return out
  })

/** The lines of a JSONL file decoded with `schema`, each with its line number, or the line's reject. */
const jsonlRecords = <A, I>(file: string, schema: Schema.Schema<A, I, never>) =>
  Stream.suspend(() => {
    const decode = decodeJsonlLine(file, schema)
    return jsonlLines(file).pipe(
      Stream.filter((line) => !isBlankJsonlLine(line)),
      Stream.mapEffect((line) => Effect.map(decode(line), Either.map((value) => ({ value, line: line.line })))),
    )
  })

const miniSweAgent = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.fromIterable(files).pipe(
    Stream.mapEffect((file) =>
      Effect.gen(function*() {
        const text = yield* readText(file)
        const decoded = decodeJsonText(file, text, MiniSweAgentTrajectory)
        if (Either.isLeft(decoded)) return reject(decoded.left)
        const reportFile = file.replace(/\.traj\.json$/, ".report.json")
        const report = reportFile !== file && (yield* fileExists(reportFile)) ? { file: reportFile, text: yield* readText(reportFile) } : null
        const converted = fromMiniSweAgent(decoded.right, {
          file,
          runId: defaultRunId("mini-swe-agent", file, options),
          dataset: options.dataset ?? null,
          model: options.model ?? null,
        }, report)
        return Either.match(converted, { onLeft: reject, onRight: trajectory })
      }), { concurrency: options.concurrency ?? 4 }),
  )

const PredictionLine = Schema.Struct({ instance_id: Schema.String, model_name_or_path: Schema.String })

/** SWE-agent writes all_preds.jsonl beside its trajectories: instance id → model name (empty when absent). */
const modelsOfPredictions = (dir: string) =>
  Effect.gen(function*() {
    const file = join(dir, "all_preds.jsonl")
    const models = new Map<string, string>()
    if (!(yield* fileExists(file))) return models
    const text = yield* readText(file)
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue
      const decoded = Schema.decodeUnknownEither(Schema.parseJson(PredictionLine))(line)
      if (Either.isRight(decoded)) models.set(decoded.right.instance_id, decoded.right.model_name_or_path)
    }
    return models
  })

const sweAgent = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.unwrap(Effect.gen(function*() {
    const byDir = new Map<string, ReadonlyMap<string, string>>()
    for (const dir of new Set(files.map(dirname))) byDir.set(dir, yield* modelsOfPredictions(dir))
    return Stream.fromIterable(files).pipe(
      Stream.mapEffect((file) =>
        Effect.gen(function*() {
          const text = yield* readText(file)
          const decoded = decodeJsonText(file, text, SweAgentTrajectory)
          if (Either.isLeft(decoded)) return reject(decoded.left)
          const instanceId = basename(file).replace(/\.traj$/, "")
          const model = options.model ?? byDir.get(dirname(file))?.get(instanceId) ?? "unknown"
          const converted = fromSweAgent(decoded.right, instanceId, {
            file,
            runId: defaultRunId("swe-agent", file, options),
            dataset: options.dataset ?? null,
            model,
          })
          return Either.match(converted, { onLeft: reject, onRight: trajectory })
        }), { concurrency: options.concurrency ?? 4 }),
    )
  }))

const openHands = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.fromIterable(files).pipe(
    Stream.flatMap((file) =>
      jsonlRecords(file, OpenHandsOutput).pipe(
        Stream.map(Either.flatMap(({ line, value }) =>
          fromOpenHands(value, {
            file,
            line,
            runId: defaultRunId("openhands", file, options),
            dataset: options.dataset ?? null,
            model: options.model ?? null,
          })
        )),
        Stream.map(Either.match({ onLeft: reject, onRight: trajectory })),
      )
    ),
  )

const ownTrajectories = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.fromIterable(files).pipe(
    Stream.flatMap((file) =>
      jsonlRecords(file, RolloutLine).pipe(
        Stream.map(Either.match({
          onLeft: reject,
          onRight: ({ line, value }) =>
            trajectory(fromRolloutLine(value, {
              file,
              line,
              runId: defaultRunId("trajectory", file, options),
              dataset: options.dataset ?? null,
              model: options.model ?? null,
            })),
        })),
      )
    ),
  )

/** A prediction as a trajectory without steps: enough for resolve rates and Pass@k when that is all a user has. */
const predictionTrajectory = (p: Prediction, file: string, line: number, options: SourceOptions): ImportedTrajectory => {
  const model = options.model ?? p.model_name_or_path
  return {
    run: {
      run_id: options.runId ?? `swe-bench:${model}`,
      source_format: "swe-bench",
      model,
      dataset: options.dataset ?? null,
      agent: null,
      agent_config: null,
      sampling: null,
      source_path: file,
    },
    instance_id: p.instance_id,
    sample: null,
    model,
    exit_reason: "unknown",
    exit_detail: null,
    patch: p.model_patch,
    llm_calls: 0,
    cost: null,
    started_at: null,
    finished_at: null,
    tools: null,
    steps: [],
    messages: [],
    llmCallLog: [],
    evaluation: null,
    instance: null,
    source_file: file,
    source_line: line,
  }
}

/** Predictions (`.jsonl`) first, then reports (`.json`), graded against the patches of those predictions. */
const sweBench = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.suspend(() => {
    const patches = new Map<string, Array<string>>()
    const predictions = files.filter((f) => f.endsWith(".jsonl"))
    const reports = files.filter((f) => !f.endsWith(".jsonl"))
    const predictionItems = Stream.fromIterable(predictions).pipe(
      Stream.flatMap((file) =>
        jsonlRecords(file, Prediction).pipe(
          Stream.map(Either.match({
            onLeft: reject,
            onRight: ({ line, value }) => {
              patches.set(value.instance_id, [...(patches.get(value.instance_id) ?? []), value.model_patch])
              return trajectory(predictionTrajectory(value, file, line, options))
            },
          })),
        )
      ),
    )
    const reportItems = Stream.fromIterable(reports).pipe(
      Stream.mapEffect((file) =>
        Effect.gen(function*() {
          const text = yield* readText(file)
          const decoded = decodeJsonText(file, text, ReportFile)
          if (Either.isLeft(decoded)) return [reject(decoded.left)]
          return gradingsOfReport(decoded.right, file).flatMap(({ instance_id, evaluation }): Array<ImportItem> => {
            const known = patches.get(instance_id)
            if (known === undefined) {
              const reason = `no prediction for ${instance_id} in the predictions given with this report: pass its predictions .jsonl too`
              return [reject({ file, line: 0, kind: "schema", path: instance_id, reason, issues: [{ path: instance_id, message: reason }], raw: "", rawTruncated: false, bytes: 0 })]
            }
            return known.map((patch) => ({ _tag: "grading", instance_id, patch, evaluation }))
          })
        })
      ),
      Stream.flattenIterables,
    )
    return Stream.concat(predictionItems, reportItems)
  })

const InstanceRow = Schema.Struct({
  instance_id: Schema.String,
  repo: Schema.String,
  base_commit: Schema.optional(Schema.String),
  version: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  problem_statement: Schema.optional(Schema.String),
  FAIL_TO_PASS: Schema.optional(TestIdList),
  PASS_TO_PASS: Schema.optional(TestIdList),
})

const instances = (files: ReadonlyArray<string>, options: SourceOptions) =>
  Stream.fromIterable(files).pipe(
    Stream.flatMap((file) =>
      jsonlRecords(file, InstanceRow).pipe(
        Stream.map(Either.match({
          onLeft: reject,
          onRight: ({ value }): ImportItem => ({
            _tag: "instance",
            file,
            dataset: options.dataset ?? basename(file).replace(/\.jsonl$/, ""),
            value: {
              instance_id: value.instance_id,
              repo: value.repo,
              base_commit: value.base_commit ?? null,
              version: value.version === undefined ? null : String(value.version),
              problem_statement: value.problem_statement ?? null,
              FAIL_TO_PASS: value.FAIL_TO_PASS ?? null,
              PASS_TO_PASS: value.PASS_TO_PASS ?? null,
            },
          }),
        })),
      )
    ),
  )

/** File-name endings each format picks out of a directory. */
export const formatSuffixes: Readonly<Record<ImportFormat, ReadonlyArray<string>>> = {
  "openhands": ["output.jsonl"],
  "mini-swe-agent": [".traj.json"],
  "swe-agent": [".traj"],
  "swe-bench": [".jsonl", ".json"],
  "trajectory": [".jsonl"],
  "rollouts": [".duckdb"],
  "instances": [".jsonl"],
}

/** The items of `files` read as `format`. */
export const importSource = (
  format: ImportFormat,
  files: ReadonlyArray<string>,
  options: SourceOptions,
): Stream.Stream<ImportItem, JsonlIoError | QueryFailed | QueryDecodeFailed, FileSystem.FileSystem | Store> => {
  switch (format) {
    case "openhands":
      return openHands(files, options)
    case "mini-swe-agent":
      return miniSweAgent(files, options)
    case "swe-agent":
      return sweAgent(files, options)
    case "swe-bench":
      return sweBench(files, options)
    case "trajectory":
      return ownTrajectories(files, options)
    case "rollouts":
      return Stream.fromIterable(files).pipe(
        Stream.flatMap((file) =>
          rolloutsOfDatabase(file, {
            dataset: options.dataset ?? null,
            model: options.model ?? null,
            ...(options.runId === undefined ? {} : { runId: options.runId }),
          }).pipe(Stream.map(Either.match({ onLeft: reject, onRight: trajectory })))
        ),
      )
    case "instances":
      return instances(files, options)
  }
}
