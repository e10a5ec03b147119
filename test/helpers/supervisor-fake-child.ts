/**
 * An in-memory stand-in for a forked worker: records what the supervisor sends and which signals it gets, and lets
 * the test play the worker's side of the IPC contract.
 */
import { EventEmitter } from 'node:events';
import type { SupervisorMessage } from '../../src/ipc/messages';
import type { SpawnRequest, SpawnWorker, WorkerProcess } from '../../src/supervisor/arbiter/spawn';

let nextPid = 50_000;

/** One fake worker process. */
export class FakeChild extends EventEmitter implements WorkerProcess {
  readonly pid: number = nextPid++;
  connected = true;
  readonly sent: SupervisorMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];
  exited = false;
  /** Set by {@link ready}; {@link pumpHeartbeats} only beats for ready children. */
  isReady = false;

  constructor(readonly request: SpawnRequest) {
    super();
  }

  send(message: SupervisorMessage, callback: (error: Error | null) => void): boolean {
    this.sent.push(message);
    callback(null);
    return true;
  }

  kill(signal: NodeJS.Signals): boolean {
    if (this.exited) return false;
    this.signals.push(signal);
    if (signal === 'SIGKILL') this.exit(null, 'SIGKILL');
    return true;
  }

  /** True once the supervisor asked it to shut down (IPC or SIGTERM). */
  get toldToStop(): boolean {
    return this.sent.some((m) => m.type === 'm2pool:shutdown') || this.signals.includes('SIGTERM');
  }

  /** Report ready; `maxInFlight` is the in-flight cap a real worker reports (the autoscaler's capacity). */
  ready(maxInFlight?: number): void {
    this.isReady = true;
    this.emit('message', { type: 'm2pool:ready', pid: this.pid, endpoints: 2, ...(maxInFlight === undefined ? {} : { maxInFlight }) });
  }

  heartbeat(fields: { inFlight?: number; handled?: number; rssBytes?: number; waiting?: string[]; eventLoopUtilization?: number } = {}): void {
    this.emit('message', {
      type: 'm2pool:heartbeat',
      inFlight: fields.inFlight ?? 0,
      handled: fields.handled ?? 0,
      loopLagMs: 1,
      rssBytes: fields.rssBytes ?? 1_000_000,
      ...(fields.waiting === undefined ? {} : { waiting: fields.waiting }),
      ...(fields.eventLoopUtilization === undefined ? {} : { eventLoopUtilization: fields.eventLoopUtilization }),
    });
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.connected = false;
    this.emit('exit', code, signal);
  }
}

/** A spawner that hands out {@link FakeChild}ren and remembers them in order. */
export function fakeSpawner(): { spawn: SpawnWorker; children: FakeChild[]; live(): FakeChild[] } {
  const children: FakeChild[] = [];
  return {
    spawn: (request) => {
      const c = new FakeChild(request);
      children.push(c);
      return c;
    },
    children,
    live: () => children.filter((c) => !c.exited),
  };
}

/** Advance `clock` by `ms` in `step`s, every ready live child sending a heartbeat each step (a healthy pool). */
export function pumpHeartbeats(clock: { advance(ms: number): void }, children: readonly FakeChild[], ms: number, step = 50): void {
  for (let t = 0; t < ms; t += step) {
    for (const c of children) if (c.isReady && !c.exited) c.heartbeat();
    clock.advance(Math.min(step, ms - t));
  }
}
