/**
 * Bench roles as child processes of the bench's own script (`--role <name>`), talking over the
 * fork IPC channel: the emulators and drivers run in their own processes so that the process
 * being measured (the bridge's) is charged for its own CPU and heap only, as in production where
 * the homeserver and the remote network are other machines.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop delay of this process since the last reset: a stall delays every message in flight,
 * so p99 latency follows the longest stalls. Every role answers `eld` with its own.
 */
const eldHistogram = monitorEventLoopDelay({ resolution: 5 });
eldHistogram.enable();

export interface Eld {
  p99: number;
  max: number;
  mean: number;
}

export function eld(reset: boolean): Eld {
  const r = { p99: eldHistogram.percentile(99) / 1e6, max: eldHistogram.max / 1e6, mean: eldHistogram.mean / 1e6 };
  if (reset) eldHistogram.reset();
  return r;
}

export const fmtEld = (e: Eld): string => `p99 ${e.p99.toFixed(0)} ms, max ${e.max.toFixed(0)} ms`;

/** A role's commands, each taking the args it declares (the parent's `call` sends them over IPC). */
export type Handlers = Record<string, (args: never) => unknown>;

/** Serves `handlers` to the parent (plus `eld`); the process exits when the parent closes the channel. */
export function serve(handlers: Handlers): void {
  handlers = { ...handlers, eld: ({ reset }: { reset?: boolean }) => eld(!!reset) };
  process.on('message', (m: { id: number; cmd: string; args: unknown }) => {
    void (async () => {
      try {
        // IPC carries no types: the args are what the parent's `call` sent for this command.
        const handler = handlers[m.cmd] as ((args: unknown) => unknown) | undefined;
        if (!handler) throw new Error(`no such command: ${m.cmd}`);
        process.send!({ id: m.id, result: await handler(m.args) });
      } catch (err) {
        process.send!({ id: m.id, error: String((err as Error)?.stack ?? err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

/** The parent's handle on one role: `call` runs a handler there and resolves with its result. */
export class Child {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((onReady = resolve), (onFail = reject)));
    proc.on('message', (m: { id?: number; ready?: boolean; result?: unknown; error?: string }) => {
      if (m.ready) return onReady();
      const w = this.waiting.get(m.id!);
      if (!w) return;
      this.waiting.delete(m.id!);
      if (m.error) w.reject(new Error(`${name}: ${m.error}`));
      else w.resolve(m.result);
    });
    proc.on('exit', (code) => {
      onFail(new Error(`${name} exited (${code}) before it was ready`));
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code})`));
      this.waiting.clear();
    });
  }

  /** `T`: what the role's handler for `cmd` returns (IPC carries no types). */
  call<T = unknown>(cmd: string, args: unknown = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (v) => resolve(v as T), reject });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Closes the IPC channel (the child exits, writing its CPU profile if asked), SIGKILL after 5 s. */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    if (this.proc.connected) this.proc.disconnect();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** The `--role` this process plays (`main` when started by hand). */
function currentRole(): string {
  const i = process.argv.indexOf('--role');
  return i > 0 ? process.argv[i + 1] : 'main';
}

/**
 * Starts `script` again as a child playing `role`, with this process's other arguments.
 * `--profile-children` writes a CPU profile of each child to ./ (the main process: run tsx with --cpu-prof).
 */
export async function spawnRole(script: string, role: string): Promise<Child> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--role');
  if (i >= 0) args.splice(i, 2);
  const proc = fork(script, ['--role', role, ...args], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(process.argv.includes('--profile-children') ? ['--cpu-prof'] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env },
  });
  const c = new Child(role, proc);
  await c.ready;
  return c;
}

/** Runs this process's role: `main` exits with its exit code when done; a child keeps serving. */
export function runRole(roles: Record<string, () => Promise<void>>): void {
  const role = currentRole();
  const run = roles[role];
  if (!run) {
    console.error(`unknown role ${role}`);
    process.exit(2);
  }
  run().then(
    () => {
      if (role === 'main') process.exit(process.exitCode ?? 0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
