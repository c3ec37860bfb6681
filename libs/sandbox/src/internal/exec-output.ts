// Docker's attach stream for a non-TTY exec multiplexes stdout and stderr in frames:
// an 8-byte header [stream, 0, 0, 0, size (u32 big-endian)] followed by `size` bytes of payload.
// We parse the frames ourselves (no copy of the whole stream) and keep a bounded capture per stream.

/** Marker put between the kept head and the kept tail of a truncated stream (`{n}` = bytes dropped). */
export const truncationMarker = (droppedBytes: number): string =>
  `\n[... swe-gym: ${droppedBytes} bytes of output truncated ...]\n`

/**
 * A bounded byte capture: keeps the first `headBytes` and the last `tailBytes` of everything pushed, counts the rest.
 * Pushing past the cap never blocks or fails, so the producer keeps draining at full speed.
 */
export class CappedCapture {
  private readonly head: Array<Buffer> = []
  private headSize = 0
  private tail: Array<Buffer> = []
  private tailSize = 0
  private total = 0

  constructor(
    private readonly headBytes: number,
    private readonly tailBytes: number,
  ) {}

  /** Bytes seen so far, kept or not. */
  get totalBytes(): number {
    return this.total
  }

  /** Whether some bytes were dropped. */
  get truncated(): boolean {
    return this.total > this.headSize + this.tailSize
  }

  push(chunk: Buffer): void {
    this.total += chunk.length
    let rest = chunk
    if (this.headSize < this.headBytes) {
      const take = Math.min(this.headBytes - this.headSize, rest.length)
      // Copy: the chunk may be a view into a larger socket buffer we must not pin.
      this.head.push(Buffer.from(rest.subarray(0, take)))
      this.headSize += take
      rest = rest.subarray(take)
    }
    if (rest.length === 0 || this.tailBytes === 0) return
    if (rest.length >= this.tailBytes) {
      this.tail = [Buffer.from(rest.subarray(rest.length - this.tailBytes))]
      this.tailSize = this.tailBytes
      return
    }
    this.tail.push(Buffer.from(rest))
    this.tailSize += rest.length
    while (this.tailSize > this.tailBytes) {
      const first = this.tail[0]
      if (first === undefined) break
      const excess = this.tailSize - this.tailBytes
      if (first.length <= excess) {
        this.tail.shift()
        this.tailSize -= first.length
      } else {
        this.tail[0] = first.subarray(excess)
        this.tailSize -= excess
      }
    }
  }

  /** Takes a capture made elsewhere with the same caps (the exec session's server): its kept head and tail, and its total. */
  restore(head: Buffer, tail: Buffer, total: number): void {
    this.head.length = 0
    this.head.push(head)
    this.headSize = head.length
    this.tail = [tail]
    this.tailSize = tail.length
    this.total = total
  }

  /** The kept text, decoded as UTF-8 with U+FFFD for invalid bytes; a marker line stands for the dropped middle. */
  text(): string {
    const decode = (parts: ReadonlyArray<Buffer>) => new TextDecoder("utf-8", { fatal: false }).decode(Buffer.concat(parts))
    if (!this.truncated) return decode([...this.head, ...this.tail])
    const dropped = this.total - this.headSize - this.tailSize
    return decode(this.head) + truncationMarker(dropped) + decode(this.tail)
  }
}

/** Stream ids of Docker's multiplexed attach protocol. */
export type FrameStream = "stdin" | "stdout" | "stderr"

const streamOf = (byte: number): FrameStream | undefined =>
  byte === 0 ? "stdin" : byte === 1 ? "stdout" : byte === 2 ? "stderr" : undefined

/**
 * Incremental parser of Docker's multiplexed stream: feed raw chunks in any split, get payload slices per stream.
 * A header with an unknown stream id means the stream is not multiplexed (TTY): everything after it goes to stdout.
 */
export class FrameDemuxer {
  private pending: Buffer = Buffer.alloc(0)
  private current: FrameStream | undefined = undefined
  private remaining = 0
  private raw = false

  constructor(private readonly onPayload: (stream: FrameStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.raw) {
      this.onPayload("stdout", chunk)
      return
    }
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    while (buf.length > 0) {
      if (this.current !== undefined) {
        const take = Math.min(this.remaining, buf.length)
        this.onPayload(this.current, buf.subarray(0, take))
        this.remaining -= take
        buf = buf.subarray(take)
        if (this.remaining === 0) this.current = undefined
        continue
      }
      if (buf.length < 8) {
        this.pending = Buffer.from(buf)
        return
      }
      const stream = streamOf(buf[0] ?? 255)
      if (stream === undefined) {
        this.raw = true
        this.onPayload("stdout", buf)
        return
      }
      const size = buf.readUInt32BE(4)
      buf = buf.subarray(8)
      if (size > 0) {
        this.current = stream
        this.remaining = size
      }
    }
  }

  /** Bytes of an incomplete frame header left at the end (0 for a well-formed stream). */
  get leftoverBytes(): number {
    return this.pending.length
  }
}
