/**
 * The live stream: server-sent events (`text/event-stream`) to every page
 * watching, one `data:` line of JSON per message. A message is encoded once
 * and queued to each watcher; a watcher whose queue holds more than
 * STREAM_QUEUE_MAX messages (a page that stopped reading) is cut off rather
 * than let the queue grow, and at most WATCHERS_MAX watch at once.
 *
 * @module
 */

/** Pages that may watch one inspector at once. */
export const WATCHERS_MAX = 8;
/** Messages queued to one watcher before it counts as stuck and is cut off. */
export const STREAM_QUEUE_MAX = 256;

interface Watcher {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
}

/**
 * The watchers of one inspector and what they are sent.
 *
 * @example
 * ```ts
 * import { LiveStream } from "./_stream.ts";
 * const stream = new LiveStream(() => ({ type: "hello" }));
 * const response = stream.open(); // a text/event-stream Response; starts with the hello
 * stream.send({ type: "sample", tick: 1 });
 * stream.closeAll();
 * ```
 */
export class LiveStream {
  /** Called with the watcher count whenever it changes. */
  onWatchers: (count: number) => void = () => {};
  private readonly watchers = new Set<Watcher>();
  private readonly hello: () => unknown;
  private readonly encoder = new TextEncoder();

  /** `hello` makes the first message each new watcher gets. */
  constructor(hello: () => unknown) {
    this.hello = hello;
  }

  /** Pages watching now. */
  get count(): number {
    return this.watchers.size;
  }

  /** A new watcher's response, or 503 when WATCHERS_MAX already watch. */
  open(): Response {
    if (this.watchers.size >= WATCHERS_MAX) {
      return new Response(
        `at most ${WATCHERS_MAX} pages may watch at once; close one and reload\n`,
        { status: 503, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        watcher = { controller };
        this.watchers.add(watcher);
        controller.enqueue(this.encode(this.hello()));
        this.onWatchers(this.watchers.size);
      },
      cancel: () => this.drop(watcher!),
    }, new CountQueuingStrategy({ highWaterMark: STREAM_QUEUE_MAX }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Sends `message` to every watcher; cuts off those that stopped reading. */
  send(message: unknown): void {
    this.sendAll([message]);
  }

  /**
   * Sends `messages` as one write: one network read, one wake-up of the page
   * for all of them (cheaper for a browser than one per message).
   */
  sendAll(messages: readonly unknown[]): void {
    if (this.watchers.size === 0 || messages.length === 0) return;
    const bytes = this.encoder.encode(messages.map((m) => this.event(m)).join(""));
    for (const watcher of [...this.watchers]) {
      if ((watcher.controller.desiredSize ?? 0) <= 0) {
        this.end(watcher);
        continue;
      }
      try {
        watcher.controller.enqueue(bytes);
      } catch {
        this.drop(watcher); // the page went away between two sends
      }
    }
  }

  /** Ends every watcher's stream (before the server closes: an open stream holds it). */
  closeAll(): void {
    for (const watcher of [...this.watchers]) this.end(watcher);
  }

  private encode(message: unknown): Uint8Array {
    return this.encoder.encode(this.event(message));
  }

  private event(message: unknown): string {
    return `data: ${JSON.stringify(message)}\n\n`;
  }

  private end(watcher: Watcher): void {
    try {
      watcher.controller.close();
    } catch {
      // Already closed or errored: nothing to end.
    }
    this.drop(watcher);
  }

  private drop(watcher: Watcher): void {
    if (this.watchers.delete(watcher)) this.onWatchers(this.watchers.size);
  }
}
