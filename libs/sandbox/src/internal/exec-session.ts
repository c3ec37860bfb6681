// A container's exec session: one long-lived `docker exec` running a small Python server that starts each command the
// host sends it, so a command costs no engine round trip. Measured on this project's machine: a plain Docker exec
// (create, start and attach, inspect) takes ≈ 75 ms and occupies the engine; a command through the session ≈ 4 ms. An
// agent's rollout runs tens of commands per container and a validation seven, so the engine's work per container drops
// to its creation and removal (see BENCHMARKS.md, validation-overhead and rollout-throughput).
//
// The protocol, over the exec's stdin and (multiplexed) stdout:
//   host → server: the session's nonce on the first line; then one JSON object per line, either a request
//     {seq, argv, cwd, env, timeout, head, tail, stdin} or {kill: seq} (the host gave up on a command: SIGKILL its group);
//   server → host: `READY <nonce>` once, then per finished command a line `SWEGYM <nonce> <json meta>` followed by the
//     bytes the meta announces (stdout's head and tail, then stderr's head and tail).
// The server runs each command in a new session (its own process group, as `timeout -s KILL` does for a plain exec),
// its output through pipes read to their end (every writer gone, as Docker's attach stream ends), capped head + tail in
// the server's memory (a command printing a gigabyte costs no disk), and at its timeout SIGKILLs the process group.
// Requests run concurrently (a thread each). The command inherits the session's environment (the container's) plus the
// request's `env`, exactly as a Docker exec inherits the container's.
//
// The session needs a Python 3 in the container (every environment image of this project has one). Where it cannot
// start (no Python, an old one, no answer) the container keeps using plain Docker execs: nothing changes but the speed.
// A command can kill the server (`kill -9 -1` does): its own exec then ends as killed (137), as a plain exec whose
// command killed itself does, and the next exec opens a new session. A command running as root in the container can
// also write into the server's output; the nonce makes a forged response detectable, not impossible (root can read the
// server's memory), and a response that does not parse ends the session with an error for the commands in flight. That
// is the same trust a plain exec gives: a command can always forge its own output.
import { randomBytes } from "node:crypto"
import type { Duplex } from "node:stream"
import type Docker from "dockerode"
import { Schema } from "effect"
import { FrameDemuxer } from "./exec-output.js"

/** The server, run as `python3 -c SERVER`. Python 3.3+ (subprocess timeouts, start_new_session); stdlib only. */
export const SessionServer = String.raw`
import base64, json, os, signal, subprocess, sys, threading, time
out = sys.stdout.buffer
lock = threading.Lock()
nonce = sys.stdin.buffer.readline().strip().decode()
running = {}

def capture(pipe, head, tail, state):
    # state = [head bytes, tail bytes, total]: read while the command runs, so a reply can be made before the end.
    h = state[0]; t = state[1]
    while True:
        chunk = pipe.read1(65536)
        if not chunk:
            break
        state[2] += len(chunk)
        if len(h) < head:
            take = head - len(h); h += chunk[:take]; chunk = chunk[take:]
        if chunk and tail > 0:
            t += chunk
            if len(t) > tail:
                del t[:len(t) - tail]

def reply(meta, parts):
    with lock:
        out.write(("SWEGYM %s %s\n" % (nonce, json.dumps(meta))).encode())
        for part in parts:
            out.write(part)
        out.flush()

def run(req):
    seq = req["seq"]; code = None; error = None; timed_out = False; escaped = False
    o = [bytearray(), bytearray(), 0]; e = [bytearray(), bytearray(), 0]
    env = dict(os.environ); env.update(req.get("env") or {})
    limit = req.get("timeout")
    deadline = None if limit is None else time.time() + limit
    try:
        p = subprocess.Popen(req["argv"], cwd=req.get("cwd") or None, env=env,
                             stdin=subprocess.PIPE if req.get("stdin") is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except Exception as x:
        p = None; error = "%s: %s" % (type(x).__name__, x)
    if p is not None:
        running[seq] = p
        readers = [threading.Thread(target=capture, args=(p.stdout, req["head"], req["tail"], o), daemon=True),
                   threading.Thread(target=capture, args=(p.stderr, req["head"], req["tail"], e), daemon=True)]
        for r in readers:
            r.start()
        if req.get("stdin") is not None:
            def feed():
                try:
                    p.stdin.write(base64.b64decode(req["stdin"]))
                except Exception:
                    pass
                try:
                    p.stdin.close()
                except Exception:
                    pass
            threading.Thread(target=feed, daemon=True).start()
        try:
            p.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
        # The output ends when its last writer is gone (as Docker's attach stream does): a process that left the command's
        # group can hold it open. Past the limit (plus 2 s after a kill) the reply goes with what was read: "escaped".
        for r in readers:
            if deadline is None:
                r.join()
            else:
                r.join(max(deadline - time.time(), 0) + (2 if timed_out else 0))
        if any(r.is_alive() for r in readers):
            escaped = True; timed_out = True
        running.pop(seq, None)
        code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    out_h, out_t, err_h, err_t = bytes(o[0]), bytes(o[1]), bytes(e[0]), bytes(e[1])
    reply({"seq": seq, "code": code, "timedOut": timed_out, "escaped": escaped, "error": error,
           "out": [len(out_h), len(out_t), o[2]], "err": [len(err_h), len(err_t), e[2]]}, [out_h, out_t, err_h, err_t])

def kill(seq):
    p = running.get(seq)
    if p is not None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass

out.write(("READY %s\n" % nonce).encode()); out.flush()
for line in sys.stdin.buffer:
    req = json.loads(line.decode())
    if "kill" in req:
        kill(req["kill"])
    else:
        threading.Thread(target=run, args=(req,), daemon=True).start()
`

// The first python3 found: Debian's own first (an environment's conda or venv Python on PATH works too, but is not needed).
const launcher = 'for p in /usr/bin/python3 /usr/local/bin/python3 python3; do command -v "$p" >/dev/null 2>&1 && exec "$p" -c "$0"; done; exit 127'

/** One command for the session. */
export interface SessionRequest {
  readonly argv: ReadonlyArray<string>
  readonly cwd: string | undefined
  readonly env: Readonly<Record<string, string>> | undefined
  /** Seconds; undefined: no limit. */
  readonly timeoutSeconds: number | undefined
  readonly headBytes: number
  readonly tailBytes: number
  readonly stdin: Buffer | undefined
}

/** What the server captured of one stream: its first and last bytes kept, and how many it wrote in all. */
export interface CapturedStream {
  readonly head: Buffer
  readonly tail: Buffer
  readonly total: number
}

/** The session's answer to one request. */
export type SessionReply =
  /** `escaped`: the limit passed while a process outside the command's group still held its output open. */
  | { readonly _tag: "Finished"; readonly exitCode: number; readonly timedOut: boolean; readonly escaped: boolean; readonly stdout: CapturedStream; readonly stderr: CapturedStream }
  /** The server could not start the command (no such directory or program): run it as a plain exec instead. */
  | { readonly _tag: "NotStarted"; readonly reason: string }
  /** The server went away before answering (killed, or the container stopped). */
  | { readonly _tag: "SessionEnded"; readonly reason: string }

const Meta = Schema.Struct({
  seq: Schema.Number,
  code: Schema.NullOr(Schema.Number),
  timedOut: Schema.Boolean,
  escaped: Schema.Boolean,
  error: Schema.NullOr(Schema.String),
  out: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number),
  err: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number),
})
const decodeMeta = Schema.decodeUnknownEither(Schema.parseJson(Meta))

/** A running session; `closed` once its stream ended (it is then never used again). */
export class ExecSession {
  private buffer: Buffer = Buffer.alloc(0)
  private pendingChunks: Array<Buffer> = []
  private pendingBytes = 0
  private awaiting: { readonly meta: typeof Meta.Type; readonly bytes: number } | undefined = undefined
  private readonly pending = new Map<number, (reply: SessionReply) => void>()
  private nextSeq = 0
  private ready: ((ok: boolean, reason: string) => void) | undefined
  private diagnostics = ""
  closed = false

  private constructor(
    private readonly socket: Duplex,
    private readonly nonce: string,
  ) {}

  /**
   * Opens a session in the container: resolves once the server said READY, or to the reason it could not (then the
   * exec is left to end on its own: its stdin is closed).
   */
  static open(
    docker: Docker,
    containerId: string,
    settings: { readonly user: string | undefined; readonly workdir: string | undefined; readonly readyTimeoutMs: number },
  ): Promise<ExecSession | string> {
    const nonce = randomBytes(16).toString("hex")
    return docker
      .getContainer(containerId)
      .exec({
        Cmd: ["sh", "-c", launcher, SessionServer],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        ...(settings.user === undefined ? {} : { User: settings.user }),
        ...(settings.workdir === undefined ? {} : { WorkingDir: settings.workdir }),
      })
      .then((exec) => exec.start({ hijack: true, stdin: true, Detach: false, Tty: false }))
      .then(
        (socket) =>
          new Promise<ExecSession | string>((resolve) => {
            const session = new ExecSession(socket, nonce)
            const timer = setTimeout(() => session.ready?.(false, `no answer within ${settings.readyTimeoutMs} ms`), settings.readyTimeoutMs)
            session.ready = (ok, reason) => {
              session.ready = undefined
              clearTimeout(timer)
              if (ok) resolve(session)
              else {
                session.close(reason)
                resolve(reason)
              }
            }
            session.attach()
            socket.write(`${nonce}\n`)
          }),
        (err: unknown) => `the session's exec could not start: ${err instanceof Error ? err.message : String(err)}`,
      )
  }

  private attach(): void {
    const demux = new FrameDemuxer((stream, payload) => {
      if (stream === "stdout") this.onOutput(payload)
      else if (stream === "stderr") this.diagnostics = `${this.diagnostics}${payload.toString("utf8")}`.slice(-2000)
    })
    this.socket.on("data", (chunk: Buffer) => demux.push(chunk))
    this.socket.on("end", () => this.close("the session's stream ended"))
    this.socket.on("close", () => this.close("the session's stream closed"))
    this.socket.on("error", (err: Error) => this.close(`the session's stream failed: ${err.message}`))
  }

  private onOutput(chunk: Buffer): void {
    this.pendingChunks.push(chunk)
    this.pendingBytes += chunk.length
    // A reply's body (up to twice the output cap) arrives in many chunks: joined once it is all there, not per chunk.
    if (this.awaiting !== undefined && this.buffer.length + this.pendingBytes < this.awaiting.bytes) return
    this.buffer = Buffer.concat([this.buffer, ...this.pendingChunks])
    this.pendingChunks = []
    this.pendingBytes = 0
    for (;;) {
      if (this.awaiting === undefined) {
        const newline = this.buffer.indexOf(0x0a)
        if (newline < 0) return
        const line = this.buffer.subarray(0, newline).toString("utf8")
        this.buffer = this.buffer.subarray(newline + 1)
        if (this.ready !== undefined) {
          if (line === `READY ${this.nonce}`) this.ready(true, "")
          else this.ready(false, `unexpected first line: ${line.slice(0, 200)}`)
          continue
        }
        const prefix = `SWEGYM ${this.nonce} `
        const meta = line.startsWith(prefix) ? decodeMeta(line.slice(prefix.length)) : undefined
        if (meta === undefined || meta._tag === "Left") {
          this.close(`the session's output is corrupted (a command wrote into it?): ${line.slice(0, 200)}`)
          return
        }
        const m = meta.right
        this.awaiting = { meta: m, bytes: m.out[0] + m.out[1] + m.err[0] + m.err[1] }
      }
      const { meta, bytes } = this.awaiting
      if (this.buffer.length < bytes) return
      const body = this.buffer.subarray(0, bytes)
      this.buffer = Buffer.from(this.buffer.subarray(bytes))
      this.awaiting = undefined
      const resolve = this.pending.get(meta.seq)
      this.pending.delete(meta.seq)
      if (resolve === undefined) continue
      if (meta.code === null) {
        resolve({ _tag: "NotStarted", reason: meta.error ?? "the command did not start" })
        continue
      }
      let at = 0
      const take = (n: number) => {
        const part = Buffer.from(body.subarray(at, at + n))
        at += n
        return part
      }
      const stdout = { head: take(meta.out[0]), tail: take(meta.out[1]), total: meta.out[2] }
      const stderr = { head: take(meta.err[0]), tail: take(meta.err[1]), total: meta.err[2] }
      resolve({ _tag: "Finished", exitCode: meta.code, timedOut: meta.timedOut, escaped: meta.escaped, stdout, stderr })
    }
  }

  /** Sends a request; `onReply` is called once. Returns a function that asks the server to kill the command. */
  run(request: SessionRequest, onReply: (reply: SessionReply) => void): () => void {
    if (this.closed) {
      onReply({ _tag: "SessionEnded", reason: "the session is closed" })
      return () => undefined
    }
    const seq = this.nextSeq++
    this.pending.set(seq, onReply)
    this.socket.write(`${JSON.stringify({
      seq,
      argv: request.argv,
      cwd: request.cwd ?? null,
      env: request.env ?? {},
      timeout: request.timeoutSeconds ?? null,
      head: request.headBytes,
      tail: request.tailBytes,
      stdin: request.stdin === undefined ? null : request.stdin.toString("base64"),
    })}\n`)
    return () => {
      if (this.pending.delete(seq) && !this.closed) this.socket.write(`${JSON.stringify({ kill: seq })}\n`)
    }
  }

  /** Ends the session: every command in flight is answered SessionEnded. */
  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.ready?.(false, reason)
    const why = this.diagnostics.trim() === "" ? reason : `${reason} (server said: ${this.diagnostics.trim().slice(-500)})`
    for (const resolve of this.pending.values()) resolve({ _tag: "SessionEnded", reason: why })
    this.pending.clear()
    this.socket.destroy()
  }
}
