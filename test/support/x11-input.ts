// Test support: a user's mouse for an X server (the Xvfb of the screen capture test), speaking the
// X11 protocol over the server's Unix socket and moving the pointer through the XTEST extension.
//
// Why not xdotool: ImageMagick's `import` grabs the whole server (XGrabServer) while the user
// drags its selection rectangle, so the server answers no other client until the drag is over.
// XTEST lets a client declare itself impervious to server grabs (XTestGrabControl), but xdotool
// never does, so each of its requests waits for the end of a drag it was meant to perform. Here
// that is one request, sent before the grab. The protocol is the published one (X11 core, XTEST
// 2.2); only the handful of requests used below are written out.
import net from 'node:net';

/** Events XTestFakeInput can generate (X11 core event codes). */
const BUTTON_PRESS = 4;
const BUTTON_RELEASE = 5;
const MOTION_NOTIFY = 6;

const OPCODE_QUERY_EXTENSION = 98;
const OPCODE_GET_INPUT_FOCUS = 43;
const XTEST_FAKE_INPUT = 2;
const XTEST_GRAB_CONTROL = 3;

/** The server's socket for display `:n` (the abstract-namespace twin is Linux-only; the file is not). */
export const displaySocket = (display: number) => `/tmp/.X11-unix/X${display}`;

interface Pending {
  sequence: number;
  resolve(reply: Buffer): void;
  reject(err: Error): void;
}

/** One client connection: requests in order, replies matched by sequence number. */
class XConnection {
  private buffer = Buffer.alloc(0);
  private sequence = 0;
  private readonly pending: Pending[] = [];
  private setup: { resolve(): void; reject(err: Error): void } | undefined;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    this.ready = new Promise((resolve, reject) => (this.setup = { resolve, reject }));
    this.ready.catch(() => undefined); // reported to whoever awaits it
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the X server closed the connection')));
  }

  /** Connects; `ready` settles once the connection setup is done (no authorisation: Xvfb started without -auth). */
  static start(display: number): XConnection {
    const connection = new XConnection(net.connect({ path: displaySocket(display) }));
    // Byte order 'l' (little-endian), protocol 11.0, empty authorisation name and data.
    connection.socket.write(Buffer.from([0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    return connection;
  }

  static async open(display: number): Promise<XConnection> {
    const connection = XConnection.start(display);
    await connection.ready;
    return connection;
  }

  /** Sends a request; resolves with its reply (`replies`) or once written. */
  send(request: Buffer, replies: boolean): Promise<Buffer | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    this.sequence = (this.sequence + 1) & 0xffff;
    const sequence = this.sequence;
    this.socket.write(request);
    if (!replies) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.pending.push({ sequence, resolve, reject }));
  }

  /** A round trip (GetInputFocus, as XSync does): every earlier request has been carried out. */
  async sync(): Promise<void> {
    await this.send(Buffer.from([OPCODE_GET_INPUT_FOCUS, 0, 1, 0]), true);
  }

  close(): void {
    this.failure ??= new Error('connection closed');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.setup) {
      if (this.buffer.length < 8) return;
      const total = 8 + this.buffer.readUInt16LE(6) * 4;
      if (this.buffer.length < total) return;
      const status = this.buffer[0];
      const reason = this.buffer.subarray(8, 8 + this.buffer[1]).toString('latin1');
      this.buffer = this.buffer.subarray(total);
      const setup = this.setup;
      this.setup = undefined;
      if (status === 1) setup.resolve();
      else setup.reject(new Error(`the X server refused the connection (${status === 0 ? reason : 'it asks for authentication'})`));
    }
    while (this.buffer.length >= 32) {
      const kind = this.buffer[0];
      // Replies carry 4-byte units beyond their first 32 bytes; errors and events are 32 bytes.
      const total = kind === 1 ? 32 + this.buffer.readUInt32LE(4) * 4 : 32;
      if (this.buffer.length < total) return;
      const message = this.buffer.subarray(0, total);
      this.buffer = this.buffer.subarray(total);
      const sequence = message.readUInt16LE(2);
      if (kind === 0) {
        // An error, possibly for a request without a reply: it fails everything still waiting.
        this.fail(new Error(`X protocol error ${message[1]} (request ${message[10]}.${message.readUInt16LE(8)}, sequence ${sequence})`));
      } else if (kind === 1) {
        const index = this.pending.findIndex((p) => p.sequence === sequence);
        if (index >= 0) this.pending.splice(index, 1)[0].resolve(message);
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.setup?.reject(err);
    this.setup = undefined;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** The pointer of display `:n`, moved and clicked the way a physical mouse would. */
export class XPointer {
  private constructor(
    private readonly connection: XConnection,
    private readonly xtest: number,
  ) {}

  /** Connects, finds XTEST and makes this client impervious to server grabs. */
  static async connect(display: number): Promise<XPointer> {
    const connection = await XConnection.open(display);
    try {
      const name = Buffer.from('XTEST', 'latin1');
      const padded = Math.ceil(name.length / 4) * 4;
      const request = Buffer.alloc(8 + padded);
      request.writeUInt8(OPCODE_QUERY_EXTENSION, 0);
      request.writeUInt16LE(2 + padded / 4, 2);
      request.writeUInt16LE(name.length, 4);
      name.copy(request, 8);
      const reply = (await connection.send(request, true))!;
      if (reply[8] !== 1) throw new Error('the X server has no XTEST extension');
      const pointer = new XPointer(connection, reply[9]);
      await connection.send(Buffer.from([pointer.xtest, XTEST_GRAB_CONTROL, 2, 0, 1, 0, 0, 0]), false);
      await connection.sync();
      return pointer;
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  /** Moves the pointer to (x, y) on the screen, then waits until the server has done it. */
  async move(x: number, y: number): Promise<void> {
    await this.fake(MOTION_NOTIFY, 0, x, y);
  }

  async press(button = 1): Promise<void> {
    await this.fake(BUTTON_PRESS, button);
  }

  async release(button = 1): Promise<void> {
    await this.fake(BUTTON_RELEASE, button);
  }

  close(): void {
    this.connection.close();
  }

  private async fake(type: number, detail: number, x = 0, y = 0): Promise<void> {
    // xXTestFakeInputReq, 36 bytes: type, detail, time 0 (now), root None (the pointer's screen),
    // root x and y (absolute: detail 0 for motion), device 0 (the core pointer).
    const request = Buffer.alloc(36);
    request.writeUInt8(this.xtest, 0);
    request.writeUInt8(XTEST_FAKE_INPUT, 1);
    request.writeUInt16LE(9, 2);
    request.writeUInt8(type, 4);
    request.writeUInt8(detail, 5);
    request.writeInt16LE(x, 24);
    request.writeInt16LE(y, 26);
    await this.connection.send(request, false);
    await this.connection.sync();
  }
}

/**
 * Whether some client holds a server grab: an ordinary client's round trip gets no answer within
 * `waitMs`. (`import` grabs the server once it waits for the user's drag.)
 */
export async function serverGrabbed(display: number, waitMs: number): Promise<boolean> {
  const connection = XConnection.start(display);
  const answered = connection.ready.then(() => connection.sync()).then(
    () => 'answered' as const,
    () => 'failed' as const,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
  try {
    return (await Promise.race([answered, timeout])) === 'timeout';
  } finally {
    clearTimeout(timer);
    connection.close();
  }
}
