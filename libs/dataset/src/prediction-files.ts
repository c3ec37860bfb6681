import type { FileSystem } from "@effect/platform"
import { Prediction } from "@swe-gym/domain"
import type { Effect } from "effect"
import { readRecordFile, type RecordFileError, type RecordFileOptions, type RecordFileRead, type UnknownInstanceIds } from "./record-files.js"

/**
 * Reads predictions from a JSONL file, SWE-bench's `preds.json` (an object keyed by instance id, whose records may omit
 * `instance_id`, or a list), or Parquet; the format is told by extension and content. Records that are not predictions
 * (or whose instance_id contradicts their key) go to the rejects file; `instanceIds` keeps only those instances (an id
 * the file lacks fails the read, naming it).
 */
export const readPredictionFile = (
  file: string,
  options?: RecordFileOptions,
): Effect.Effect<RecordFileRead<Prediction>, RecordFileError | UnknownInstanceIds, FileSystem.FileSystem> =>
  readRecordFile(file, Prediction, options)
