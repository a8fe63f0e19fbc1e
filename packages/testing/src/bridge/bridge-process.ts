/**
 * A whole bridge in a child process, for specs that kill it with SIGKILL and start it again on the
 * same data directory: what an in-process bridge cannot show (nothing of the process survives, not
 * even a `finally`). The parent's half: a data directory, a registration generated as an operator
 * would and installed in the homeserver emulator, the config written there; the child (an entry
 * that calls `runBridgeProcess`) starts the real Bridge from them and says READY on stdout.
 *
 * The child's stdout and stderr are kept (the last part of them) for failure messages; with
 * KILL_LOG set they are also echoed live, and KILL_LOG is the child's log level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateRegistration, writeRegistration, type GenerateRegistrationOptions } from '@causeway/bridge-core/tools';
import type { HomeserverEmulator } from '../homeserver';
import { freePort } from '../ports';
import { BRIDGE_PROCESS_ENV, READY_LINE } from './bridge-process-entry';

/** Where the bridge lives, for the spec's config: known only once the port and directory are picked. */
export interface BridgeSite {
  hsUrl: string;
  /** The appservice listener's port, and its URL on the loopback. */
  port: number;
  asUrl: string;
  /** The registration file's path. */
  registration: string;
  dataDir: string;
  logLevel: string;
}

export interface BridgeProcessOptions {
  /** A TypeScript file (run with tsx) that calls `runBridgeProcess` with its connector. */
  entry: string;
  hs: HomeserverEmulator;
  protocol: GenerateRegistrationOptions['protocol'];
  /** The config file's content (core and connector sections). */
  config: (site: BridgeSite) => Record<string, unknown>;
  /** More environment for the child, e.g. where its connector's test network is. */
  env?: Record<string, string>;
  /** Prefix of the temporary data directory's name. */
  name?: string;
  /** How long start() waits for READY. */
  readyTimeoutMs?: number;
}

/** How much of the child's output is kept for a failure message. */
const OUTPUT_KEPT = 64 * 1024;

export class BridgeProcess {
  private child?: ChildProcess;
  private kept = '';

  private constructor(
    private readonly opts: BridgeProcessOptions,
    readonly dataDir: string,
    private readonly configPath: string,
    private readonly registrationPath: string,
    private readonly logLevel: string,
  ) {}

  /** The data directory, registration and config; the bridge is not started yet. */
  static async create(opts: BridgeProcessOptions): Promise<BridgeProcess> {
    const dataDir = mkdtempSync(path.join(tmpdir(), opts.name ?? 'causeway-proc-'));
    const port = await freePort();
    const asUrl = `http://127.0.0.1:${port}`;
    const registration = path.join(dataDir, 'registration.yaml');
    const reg = generateRegistration({ url: asUrl, protocol: opts.protocol, domain: opts.hs.serverName });
    writeRegistration(registration, reg);
    opts.hs.addRegistration(reg);
    const logLevel = process.env.KILL_LOG ?? 'error';
    const config = opts.config({ hsUrl: opts.hs.url, port, asUrl, registration, dataDir, logLevel });
    // JSON is YAML: the child loads it as an operator's config file.
    const configPath = path.join(dataDir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return new BridgeProcess(opts, dataDir, configPath, registration, logLevel);
  }

  /** Start the bridge (again, after kill(): a restart on the same data directory) and wait until it is READY. */
  start(): Promise<void> {
    if (this.running) return Promise.reject(new Error('the bridge process is already running'));
    this.kept = '';
    const proc = spawn(process.execPath, ['--require', 'tsx/cjs', this.opts.entry], {
      env: {
        ...process.env,
        ...this.opts.env,
        [BRIDGE_PROCESS_ENV.config]: this.configPath,
        [BRIDGE_PROCESS_ENV.registration]: this.registrationPath,
        CAUSEWAY_LOG_LEVEL: this.logLevel,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = proc;
    proc.stderr.on('data', (d: Buffer) => this.keep(d));
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let partial = '';
      let timer: NodeJS.Timeout | undefined = undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`${path.basename(this.opts.entry)}: ${err.message}\n${this.output()}`));
      };
      const timeoutMs = this.opts.readyTimeoutMs ?? 60_000;
      timer = setTimeout(() => fail(new Error(`not READY within ${timeoutMs} ms`)), timeoutMs);
      proc.stdout.on('data', (d: Buffer) => {
        this.keep(d);
        // READY alone on a line: the chunks may split or join lines.
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        if (!ready && lines.includes(READY_LINE)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('error', fail);
      proc.once('exit', (code, signal) => fail(new Error(`bridge exited early (${signal ?? code})`)));
    });
  }

  get running(): boolean {
    const proc = this.child;
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  }

  /** kill -9, and wait until the process is gone (nothing when it is not running). */
  async kill(): Promise<void> {
    const proc = this.child;
    if (!proc || !this.running) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** The last part of what the current (or last) child wrote on stdout and stderr. */
  output(): string {
    return this.kept;
  }

  /** Kill the bridge and remove its data directory; after a failed test, show what the bridge wrote. */
  async dispose(opts: { failed?: boolean } = {}): Promise<void> {
    await this.kill();
    if (opts.failed && this.kept) process.stderr.write(`--- ${path.basename(this.opts.entry)} output ---\n${this.kept}\n`);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private keep(d: Buffer): void {
    if (process.env.KILL_LOG) process.stdout.write(`[child] ${d.toString()}`);
    this.kept = (this.kept + d.toString()).slice(-OUTPUT_KEPT);
  }
}
