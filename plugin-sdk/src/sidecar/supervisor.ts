/**
 * A supervised sidecar: one long-lived process per loaded model instance, spoken to in frames (see framing.ts).
 *
 * The supervisor owns the truth about the process, because Triton's Python backend shows what happens otherwise
 * (stubs that die while readiness stays green, triton-inference-server/server#8604):
 * - an exit is noticed at once; every request in flight fails with InstanceUnavailable (503), none waits for a reply
 *   that cannot come, and requests arriving while it is down fail at once too;
 * - a hung process (SIGSTOP, a deadlock, a GIL held forever) is noticed by unanswered pings, then killed;
 * - either way it is restarted with exponential backoff and sent the same LOAD again; `health()` is false meanwhile.
 * A Python interpreter with torch or PennyLane imported takes 2–4 s to start, so by default a spare process is kept
 * started (imports done, waiting for its LOAD): a restart then costs a LOAD, milliseconds for small models.
 */
import type { Readable, Writable } from 'node:stream';
import { defineError } from '../errors.ts';
import type { PluginLogger } from '../plugin.ts';
import { type Health, InstanceUnavailable, UnservableModel } from '../runtime.ts';
import { BadTensor } from '../tensors.ts';
import { encodeFrame, type Frame, FrameDecoder, Op } from './framing.ts';

/** The sidecar failed a request for a reason of its own (not the input's): a 500 with its message. */
export const SidecarFailed = defineError('MP_ERR_SIDECAR_FAILED', 500);

/** What the supervisor needs from a started process, whatever started it (node:child_process, execa …). */
export interface SidecarProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** When piped, it is drained (a full pipe would block the process) and its tail quoted when a load fails. */
  readonly stderr?: Readable | null;
  /** Settles once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
}

export interface SidecarOptions {
  /** Names the sidecar in messages, e.g. `pennylane ids-qnn@1.0.0`. */
  name: string;
  spawn(): SidecarProcess;
  /** The LOAD request, sent to every (re)started process. */
  load: { header: Record<string, unknown>; payload?: Uint8Array[] };
  logger?: PluginLogger;
  /** How often to ping; default 500 ms. */
  pingIntervalMs?: number;
  /** A ping unanswered this long means the process is hung; default 1500 ms. */
  pingTimeoutMs?: number;
  /** Longest a LOAD may take (interpreter start, imports, building the model); default 120 s. */
  loadTimeoutMs?: number;
  /** First restart delay, doubled per consecutive failure up to `maxBackoffMs`; defaults 50 ms and 5 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How long `close` waits for a graceful exit before SIGKILL; default 3 s. */
  shutdownTimeoutMs?: number;
  /** Keep a started spare process for fast restarts (costs its memory: the interpreter and imports); default true. */
  spare?: boolean;
}

interface Pending {
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

type State = 'starting' | 'up' | 'down' | 'closed';

export class Sidecar {
  readonly #options: Required<Omit<SidecarOptions, 'logger'>> & { logger: PluginLogger | undefined };
  #state: State = 'starting';
  #detail = 'starting';
  #process: SidecarProcess | undefined;
  #generation = 0;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #pingTimer: NodeJS.Timeout | undefined;
  #pingSentAt: number | undefined;
  #lastFrameAt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #upSince = 0;
  #loaded: Record<string, unknown> = {};
  #closing: Promise<void> | undefined;
  #spare: { process: SidecarProcess; dead: boolean } | undefined;
  #stderrTail = new WeakMap<SidecarProcess, string>();
  /** Restarts since the first start, for describe() and tests. */
  restarts = 0;

  private constructor(options: SidecarOptions) {
    this.#options = {
      pingIntervalMs: 500,
      pingTimeoutMs: 1500,
      loadTimeoutMs: 120_000,
      backoffMs: 50,
      maxBackoffMs: 5000,
      shutdownTimeoutMs: 3000,
      spare: true,
      ...options,
      logger: options.logger,
    };
  }

  /** Starts the process and loads the model; a first load that fails is not retried (the model is at fault). */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const sidecar = new Sidecar(options);
    try {
      await sidecar.#launch();
    } catch (error) {
      await sidecar.close();
      throw error;
    }
    return sidecar;
  }

  /** The LOAD reply's header (signature, device …). */
  get loaded(): Record<string, unknown> {
    return this.#loaded;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  health(): Health {
    return this.#state === 'up' ? { ready: true } : { ready: false, detail: `sidecar ${this.#options.name} is ${this.#state}: ${this.#detail}` };
  }

  /** Sends one request; rejects with InstanceUnavailable at once when the process is not up, or if it dies first. */
  request(op: number, header: Record<string, unknown>, payload: readonly Uint8Array[] = [], signal?: AbortSignal): Promise<Frame> {
    if (this.#state !== 'up') return Promise.reject(this.#unavailable());
    return this.#send(op, header, payload, signal);
  }

  #unavailable(): Error {
    return new InstanceUnavailable(`${this.health().detail ?? 'sidecar unavailable'}; retry shortly`);
  }

  #send(op: number, header: Record<string, unknown>, payload: readonly Uint8Array[], signal?: AbortSignal, timeoutMs?: number): Promise<Frame> {
    signal?.throwIfAborted();
    const id = this.#nextId;
    this.#nextId = (this.#nextId % 0xfffffffe) + 1;
    return new Promise<Frame>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(() => reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted')));
      const settle = (fn: () => void) => {
        // A late reply to an abandoned id is dropped by #onFrame, so removing the entry is all the clean-up needed.
        this.#pending.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      this.#pending.set(id, { resolve: (f) => settle(() => resolve(f)), reject: (e) => settle(() => reject(e)) });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => settle(() => reject(new InstanceUnavailable(`sidecar ${this.#options.name} did not answer within ${timeoutMs} ms`))), timeoutMs);
      const stdin = this.#process!.stdin;
      stdin.cork();
      for (const part of encodeFrame(id, op, header, payload)) stdin.write(part);
      process.nextTick(() => stdin.uncork());
    });
  }

  async #launch(): Promise<void> {
    const generation = ++this.#generation;
    this.#state = 'starting';
    const child = this.#takeSpare() ?? this.#spawn();
    this.#process = child;
    const decoder = new FrameDecoder();
    child.stdout.on('data', (chunk: Buffer) => {
      if (generation !== this.#generation) return;
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.#options.logger?.error({ err: error, sidecar: this.#options.name }, 'sidecar protocol error; killing it');
        child.kill('SIGKILL');
        return;
      }
      for (const frame of frames) this.#onFrame(frame);
    });
    // EPIPE after a crash is expected; the exit handler reports it.
    child.stdin.on('error', () => undefined);
    void child.exited.then(({ code, signal }) => this.#onExit(generation, code, signal));

    const reply = await this.#send(Op.LOAD, this.#options.load.header, this.#options.load.payload ?? [], undefined, this.#options.loadTimeoutMs).catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await child.exited;
      const tail = this.#stderrTail.get(child)?.trim();
      throw new UnservableModel(`sidecar ${this.#options.name} did not load the model: ${(error as Error).message}${tail ? `\n${tail}` : ''}`, { cause: error });
    });
    if (reply.op === Op.ERROR) {
      child.kill('SIGKILL');
      throw new UnservableModel(`sidecar ${this.#options.name} could not load the model: ${String(reply.header.message)}`);
    }
    // close() may have run while the LOAD was in flight.
    if (generation !== this.#generation || (this.#state as State) === 'closed') return;
    this.#loaded = reply.header;
    this.#state = 'up';
    this.#detail = 'up';
    this.#upSince = Date.now();
    this.#pingSentAt = undefined;
    this.#pingTimer = setInterval(() => this.#ping(generation), this.#options.pingIntervalMs);
    this.#pingTimer.unref();
    if (this.#options.spare) this.#prepareSpare();
  }

  #prepareSpare(): void {
    if (this.#spare) return;
    const spare = { process: this.#spawn(), dead: false };
    spare.process.stdin.on('error', () => undefined);
    void spare.process.exited.then(() => {
      spare.dead = true;
      if (this.#spare === spare) this.#spare = undefined;
    });
    this.#spare = spare;
  }

  #spawn(): SidecarProcess {
    const child = this.#options.spawn();
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#stderrTail.set(child, ((this.#stderrTail.get(child) ?? '') + text).slice(-2000));
      this.#options.logger?.debug({ sidecar: this.#options.name, pid: child.pid }, text.trimEnd());
    });
    return child;
  }

  #takeSpare(): SidecarProcess | undefined {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare && !spare.dead ? spare.process : undefined;
  }

  #onFrame(frame: Frame): void {
    // Any frame, a heartbeat (id 0) included, shows the process is alive while it computes.
    this.#lastFrameAt = Date.now();
    const pending = this.#pending.get(frame.id);
    if (!pending) return;
    pending.resolve(frame);
  }

  #ping(generation: number): void {
    if (generation !== this.#generation || this.#state !== 'up') return;
    const now = Date.now();
    if (this.#pingSentAt !== undefined) {
      // A ping waits behind a running request; heartbeats say whether the process is busy or stuck.
      const silentFor = now - Math.max(this.#pingSentAt, this.#lastFrameAt);
      if (silentFor > this.#options.pingTimeoutMs) {
        this.#detail = `missed pings and heartbeats for ${silentFor} ms (hung)`;
        this.#options.logger?.warn({ sidecar: this.#options.name, pid: this.pid }, `sidecar ${this.#detail}; killing it`);
        this.#failAll(`sidecar ${this.#options.name} stopped answering pings`);
        this.#state = 'down';
        this.#process?.kill('SIGKILL');
      }
      return;
    }
    this.#pingSentAt = now;
    this.#send(Op.PING, {}, []).then(
      () => {
        if (generation === this.#generation) this.#pingSentAt = undefined;
      },
      () => undefined,
    );
  }

  #failAll(reason: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new InstanceUnavailable(`${reason}; retry shortly`));
  }

  #onExit(generation: number, code: number | null, signal: string | null): void {
    if (generation !== this.#generation) return;
    clearInterval(this.#pingTimer);
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.#failAll(`sidecar ${this.#options.name} ${how}`);
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up' || this.#upSince > 0;
    // A process that stayed up a while was healthy: start the backoff over.
    if (Date.now() - this.#upSince > 30_000) this.#failures = 0;
    const delay = Math.min(this.#options.backoffMs * 2 ** this.#failures, this.#options.maxBackoffMs);
    this.#failures++;
    this.#state = 'down';
    this.#detail = `${this.#detail.includes('hung') ? `${this.#detail}, ` : ''}${how}; restart ${this.#failures} in ${delay} ms`;
    if (wasUp) this.#options.logger?.warn({ sidecar: this.#options.name, code, signal }, `sidecar ${how}; restarting in ${delay} ms`);
    this.#restartTimer = setTimeout(() => {
      if (this.#state === 'closed') return;
      this.restarts++;
      this.#launch().catch((error: unknown) => {
        this.#options.logger?.warn({ err: error, sidecar: this.#options.name }, 'sidecar restart failed');
      });
    }, delay);
  }

  /** Stops taking requests, lets the ones in flight finish, asks the process to exit, and kills it if it will not. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasUp = this.#state === 'up';
      this.#state = 'closed';
      this.#detail = 'closed';
      clearTimeout(this.#restartTimer);
      clearInterval(this.#pingTimer);
      // The spare holds no state worth a graceful exit.
      this.#takeSpare()?.kill('SIGKILL');
      const child = this.#process;
      if (!child) return;
      let exited = false;
      const exit = child.exited.then(() => {
        exited = true;
      });
      if (wasUp) {
        // The pipe is ordered: SHUTDOWN is answered after every request sent before it, so in-flight calls finish.
        await Promise.race([this.#send(Op.SHUTDOWN, {}, [], undefined, this.#options.shutdownTimeoutMs).catch(() => undefined), exit]);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), exited ? 0 : this.#options.shutdownTimeoutMs);
      child.stdin.end();
      await exit;
      clearTimeout(timer);
      this.#failAll(`sidecar ${this.#options.name} was closed`);
    })();
    return this.#closing;
  }
}

/** An ERROR reply as the error a caller should see: bad input is the client's 400, the rest a 500. */
export function sidecarError(frame: Frame): Error {
  const message = String(frame.header.message ?? 'unknown error');
  return frame.header.kind === 'bad_input' ? new BadTensor(message) : new SidecarFailed(message);
}
