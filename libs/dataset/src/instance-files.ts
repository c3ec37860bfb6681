import type { FileSystem } from "@effect/platform"
import { TaskInstance } from "@swe-gym/domain"
import type { Effect } from "effect"
import { readRecordFile, type RecordFileError, type RecordFileOptions, type RecordFileRead, type UnknownInstanceIds } from "./record-files.js"

/**
 * Reads task instances from a SWE-bench JSONL file, a Hugging Face Parquet export of SWE-bench or SWE-Gym (FAIL_TO_PASS /
 * PASS_TO_PASS as lists or as JSON-encoded strings), or a JSON list of rows; the format is told by extension and content.
 * Rows that are not task instances go to the rejects file; `instanceIds` keeps only those instances (an id the file
 * lacks fails the read, naming it).
 */
export const readInstanceFile = (
  file: string,
  options?: RecordFileOptions,
): Effect.Effect<RecordFileRead<TaskInstance>, RecordFileError | UnknownInstanceIds, FileSystem.FileSystem> =>
  readRecordFile(file, TaskInstance, options)
