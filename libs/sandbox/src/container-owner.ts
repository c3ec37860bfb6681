// The process that created a container, recorded in its labels, so a later run can tell a container whose run is gone
// (killed with SIGKILL, OOM-killed, the machine rebooted) from one a live run still uses. A pid alone is not enough: pids
// are reused, so the process's start time (clock ticks since boot, /proc/<pid>/stat) and the boot's id are recorded too.
import { Effect, Option } from "effect"
import { readFileSync, readlinkSync } from "node:fs"
import { hostname } from "node:os"
import { BootLabel, HostLabel, PidLabel, PidNamespaceLabel, ProcessStartLabel } from "./labels.js"

/** Which process on which host created a container. `startTime`, `bootId`, `pidNamespace` are "" where /proc does not exist. */
export interface ContainerOwner {
  readonly host: string
  /** The pid namespace (`pid:[4026531836]`): a process in a container may share the host's name but not its pids. */
  readonly pidNamespace: string
  readonly pid: number
  /** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  readonly startTime: string
  /** /proc/sys/kernel/random/boot_id: changes at every boot of the host. */
  readonly bootId: string
}

/** Whether a container's owner may still use it. */
export type OwnerStatus =
  /** The owner runs on this host and is alive (same pid, same start time, same boot). */
  | "alive"
  /** The owner ran on this host and is gone: its pid is free or a zombie, held by another process, or the host rebooted. */
  | "gone"
  /** The owner ran on another host, or in another pid namespace (a container) of this one: its pids are not ours to check. */
  | "other-host"

const readText = (file: string): Option.Option<string> => {
  try {
    return Option.some(readFileSync(file, "utf8"))
  } catch {
    return Option.none()
  }
}

const readLink = (file: string): string => {
  try {
    return readlinkSync(file)
  } catch {
    return ""
  }
}

/** State and start time of a process from /proc/<pid>/stat; none when it cannot be read (no such process, no /proc). */
const processStat = (pid: number): Option.Option<{ readonly state: string; readonly startTime: string }> =>
  Option.flatMap(readText(`/proc/${pid}/stat`), (stat) => {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: fields resume after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const state = fields[0]
    const startTime = fields[19]
    return state === undefined || startTime === undefined ? Option.none() : Option.some({ state, startTime })
  })

/** Whether a process with this pid exists (a process of another user counts: signalling it is refused, not failed). */
const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return typeof error === "object" && error !== null && "code" in error && error.code === "EPERM"
  }
}

/** This process as a container owner. */
export const currentOwner: Effect.Effect<ContainerOwner> = Effect.sync(() => ({
  host: hostname(),
  pidNamespace: readLink("/proc/self/ns/pid"),
  pid: process.pid,
  startTime: Option.match(processStat(process.pid), { onNone: () => "", onSome: (s) => s.startTime }),
  bootId: Option.match(readText("/proc/sys/kernel/random/boot_id"), { onNone: () => "", onSome: (s) => s.trim() }),
}))

/** The labels recording `owner` on a container. */
export const ownerLabels = (owner: ContainerOwner): Readonly<Record<string, string>> => ({
  [HostLabel]: owner.host,
  [PidNamespaceLabel]: owner.pidNamespace,
  [PidLabel]: String(owner.pid),
  [ProcessStartLabel]: owner.startTime,
  [BootLabel]: owner.bootId,
})

/** The owner a container's labels record; none when they record no host and pid (containers of older versions). */
export const ownerFromLabels = (labels: Readonly<Record<string, string>>): Option.Option<ContainerOwner> => {
  const host = labels[HostLabel]
  const pid = Number(labels[PidLabel])
  if (host === undefined || host === "" || !Number.isSafeInteger(pid) || pid <= 0) return Option.none()
  return Option.some({
    host,
    pidNamespace: labels[PidNamespaceLabel] ?? "",
    pid,
    startTime: labels[ProcessStartLabel] ?? "",
    bootId: labels[BootLabel] ?? "",
  })
}

/** Whether `owner` is alive, seen from the process `here` (on its host). */
export const ownerStatus = (owner: ContainerOwner, here: ContainerOwner): Effect.Effect<OwnerStatus> =>
  Effect.sync((): OwnerStatus => {
    if (owner.host !== here.host) return "other-host"
    if (owner.pidNamespace !== "" && here.pidNamespace !== "" && owner.pidNamespace !== here.pidNamespace) return "other-host"
    if (owner.bootId !== "" && here.bootId !== "" && owner.bootId !== here.bootId) return "gone"
    if (!pidExists(owner.pid)) return "gone"
    return Option.match(processStat(owner.pid), {
      // No /proc (not Linux): the pid exists, which is all that can be known.
      onNone: () => "alive",
      onSome: (stat) =>
        stat.state === "Z" || stat.state === "X" || (owner.startTime !== "" && stat.startTime !== owner.startTime) ? "gone" : "alive",
    })
  })
