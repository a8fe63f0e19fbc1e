/**
 * A scriptable IRC server on loopback, for what a real InspIRCd will not send: malformed,
 * truncated, hostile lines. It registers any client (CAP negotiation answered with no caps),
 * echoes its JOIN/PART/NICK, answers PING, and otherwise stays silent; a spec writes whatever
 * bytes it wants to the clients with `send`. Lines the clients send are kept per client.
 */
import net from 'node:net';

const SERVER_NAME = 'fake.ircd';

export class FakeClient {
  nick = '';
  user = '';
  registered = false;
  /** Lines received from this client, without their line ends. */
  readonly lines: string[] = [];
  readonly channels = new Set<string>();
  private buffer = '';
  private capNegotiating = false;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.read(d.toString('utf8')));
    socket.on('error', () => undefined);
  }

  get mask(): string {
    return `${this.nick}!${this.user || 'u'}@bridge.test`;
  }

  /** Raw bytes, exactly as given (no line end added). */
  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  line(text: string): void {
    this.write(`${text}\r\n`);
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.lines.push(line);
      this.handle(line);
    }
  }

  private handle(line: string): void {
    const [head, ...rest] = line.split(' :');
    const trailing = rest.length ? rest.join(' :') : undefined;
    const [command, ...params] = head.split(' ').filter(Boolean);
    if (trailing !== undefined) params.push(trailing);
    const s = `:${SERVER_NAME}`;
    switch (command?.toUpperCase()) {
      case 'CAP':
        if (params[0] === 'LS') {
          this.capNegotiating = true;
          this.line(`${s} CAP * LS :`);
        }
        if (params[0] === 'REQ') this.line(`${s} CAP * NAK :${params[1] ?? ''}`);
        if (params[0] === 'END') {
          this.capNegotiating = false;
          this.maybeWelcome();
        }
        return;
      case 'NICK':
        if (this.registered) {
          const old = this.mask;
          this.nick = params[0];
          this.line(`:${old} NICK :${this.nick}`);
          return;
        }
        this.nick = params[0];
        this.maybeWelcome();
        return;
      case 'USER':
        this.user = params[0];
        this.maybeWelcome();
        return;
      case 'PING':
        this.line(`${s} PONG ${SERVER_NAME} :${params[params.length - 1] ?? ''}`);
        return;
      case 'JOIN':
        for (const ch of (params[0] ?? '').split(',').filter(Boolean)) {
          this.channels.add(ch.toLowerCase());
          this.line(`:${this.mask} JOIN ${ch}`);
          this.line(`${s} 353 ${this.nick} = ${ch} :${this.nick}`);
          this.line(`${s} 366 ${this.nick} ${ch} :End of /NAMES list.`);
        }
        return;
      case 'PART':
        for (const ch of (params[0] ?? '').split(',').filter(Boolean)) {
          this.channels.delete(ch.toLowerCase());
          this.line(`:${this.mask} PART ${ch}${params[1] ? ` :${params[1]}` : ''}`);
        }
        return;
      case 'MODE':
        if (params.length === 1 && params[0].startsWith('#')) this.line(`${s} 324 ${this.nick} ${params[0]} +nt`);
        return;
      case 'TOPIC':
        if (params.length === 1) this.line(`${s} 331 ${this.nick} ${params[0]} :No topic is set.`);
        return;
      case 'NAMES':
        this.line(`${s} 366 ${this.nick} ${params[0] ?? '*'} :End of /NAMES list.`);
        return;
      case 'WHOIS':
        this.line(`${s} 318 ${this.nick} ${params[0] ?? '*'} :End of /WHOIS list.`);
        return;
      case 'QUIT':
        this.socket.end(`ERROR :Closing link (${this.mask}) [Quit: ${params[0] ?? ''}]\r\n`);
        return;
    }
  }

  private maybeWelcome(): void {
    if (this.registered || this.capNegotiating || !this.nick || !this.user) return;
    this.registered = true;
    const s = `:${SERVER_NAME}`;
    this.line(`${s} 001 ${this.nick} :Welcome to the fake network ${this.mask}`);
    this.line(`${s} 004 ${this.nick} ${SERVER_NAME} fake-1.0 iosw biklmnopstv`);
    this.line(
      `${s} 005 ${this.nick} CHANTYPES=# PREFIX=(ov)@+ CHANMODES=b,k,l,imnpst CASEMAPPING=rfc1459 NICKLEN=30 CHANNELLEN=64 :are supported by this server`,
    );
    this.line(`${s} 422 ${this.nick} :MOTD File is missing`);
  }
}

export class FakeIrcd {
  readonly host = '127.0.0.1';
  port = 0;
  /** Every client that connected, in order (closed ones included). */
  readonly clients: FakeClient[] = [];
  private readonly server: net.Server;

  private constructor() {
    this.server = net.createServer((socket) => {
      this.clients.push(new FakeClient(socket));
    });
  }

  static async start(): Promise<FakeIrcd> {
    const f = new FakeIrcd();
    await new Promise<void>((resolve) => f.server.listen(0, f.host, resolve));
    f.port = (f.server.address() as net.AddressInfo).port;
    return f;
  }

  /** Connected, registered clients. */
  get live(): FakeClient[] {
    return this.clients.filter((c) => c.registered && !c.socket.destroyed);
  }

  client(nick: string): FakeClient | undefined {
    return this.live.find((c) => c.nick.toLowerCase() === nick.toLowerCase());
  }

  /** The same bytes to every live client (as a server sends a channel line to each member). */
  send(data: string | Buffer): void {
    for (const c of this.live) c.write(data);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
