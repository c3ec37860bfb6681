// Labels put on every container swe-gym creates, so `swe-gym-docker cleanup` can find (and only find) ours, and tell the
// containers of runs that are gone from those of live runs.

/** Label set to "true" on every container swe-gym creates. */
export const ManagedLabel = "swe-gym.managed"

/** Label holding the id of the run that created a container (cleanup --run ID removes one run's containers). */
export const RunLabel = "swe-gym.run"

/** Label holding the host name of the machine whose process created a container. */
export const HostLabel = "swe-gym.host"

/** Label holding the pid namespace of that process (processes in a container may share the host's name, not its pids). */
export const PidNamespaceLabel = "swe-gym.pid-namespace"

/** Label holding the pid of the process that created a container. */
export const PidLabel = "swe-gym.pid"

/** Label holding that process's start time (clock ticks since boot), which tells it from a later process with its pid. */
export const ProcessStartLabel = "swe-gym.process-start"

/** Label holding the boot id of the host when the container was created (a reboot ends every process). */
export const BootLabel = "swe-gym.boot"
