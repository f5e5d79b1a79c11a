/// <reference types="@webgpu/types" />
// The WebGPU executor: the object the native backend (native/src/webgpu_backend.cc, through
// webgpu_js_executor.cc) drives from the engine's worker thread, one call at a time, on this JS
// thread. It owns the device, the buffer table and the programs of reusable graphs. Passed to
// Engine.load as `webgpu` with backend 'webgpu':
//
//   const executor = await createWebGpuExecutor();           // EUNSUPPORTED where it cannot run
//   await engine.load(dir, { backend: 'webgpu', webgpu: executor });
//   ... engine.unload(); executor.destroy();
//
// Failures carry the engine's codes (ENOMEM, EUNSUPPORTED, EINTERNAL); a validation error or a lost
// device, which WebGPU reports later, fails the next call.
import { BufferTable, roundUp } from './buffers';
import { openGpuDevice, type GpuDevice, type WebGpuOptions } from './device';
import { decodeGraph } from './graph';
import { sampleThreads } from './kernels/sample';
import { lowerNode, type LowerContext } from './lower';
import { Pipelines, Program } from './program';

export type { WebGpuOptions } from './device';

/** Bytes handed to queue.writeBuffer before waiting for the GPU to take them (bounds Dawn's staging). */
const UPLOAD_WINDOW = 256 * 2 ** 20;

export class WebGpuExecutor {
  readonly name: string;
  readonly software: boolean;
  private readonly device: GPUDevice;
  private readonly buffers: BufferTable;
  private readonly pipelines: Pipelines;
  private readonly programs = new Map<number, Program>();
  private staging: GPUBuffer | undefined;
  private unflushed = 0;
  private failure: string | undefined;

  constructor(private readonly gpu: GpuDevice) {
    this.name = gpu.name;
    this.software = gpu.software;
    this.device = gpu.device;
    this.buffers = new BufferTable(this.device, this.device.limits);
    this.pipelines = new Pipelines(this.device);
    this.device.onuncapturederror = (e) => void (this.failure ??= e.error.message);
    void this.device.lost.then((info) => void (this.failure ??= `the GPU device was lost (${info.reason}): ${info.message}`));
  }

  alloc(id: number, bytes: number, rowBytes: number): Promise<void> {
    this.check();
    return this.buffers.alloc(id, bytes, rowBytes);
  }

  free(id: number): void {
    this.buffers.free(id);
  }

  /** Copies `data` before returning; a promise when the GPU must first take earlier uploads. */
  write(id: number, offset: number, data: Uint8Array<ArrayBuffer>): Promise<void> | void {
    this.check();
    let at = 0;
    for (const s of this.buffers.spans(id, offset, data.byteLength)) {
      this.device.queue.writeBuffer(s.gpu, s.start, data, at, s.bytes);
      at += s.bytes;
    }
    this.unflushed += data.byteLength;
    if (this.unflushed < UPLOAD_WINDOW) return;
    this.unflushed = 0;
    this.device.queue.submit([]);
    return this.device.queue.onSubmittedWorkDone();
  }

  /** Bytes [offset, offset + bytes) of buffer `id` once all submitted work is done. */
  async read(id: number, offset: number, bytes: number): Promise<Uint8Array> {
    this.check();
    const size = roundUp(bytes, 4);
    if (!this.staging || this.staging.size < size) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    const staging = this.staging;
    const encoder = this.device.createCommandEncoder();
    let at = 0;
    for (const s of this.buffers.spans(id, offset, size)) {
      encoder.copyBufferToBuffer(s.gpu, s.start, staging, at, s.bytes);
      at += s.bytes;
    }
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, size);
    const out = new Uint8Array(staging.getMappedRange(0, size).slice(0, bytes));
    staging.unmap();
    this.check();
    return out;
  }

  /** Submits graph `graph`: built from `nodes` when given, else the program kept from before. A new
   *  program's first submit is checked (shaders, bindings), so its errors fail this run. */
  run(graph: number, nodes: Float64Array | null, keep: boolean): Promise<void> | void {
    this.check();
    if (!nodes) {
      const kept = this.programs.get(graph);
      if (!kept) throw new Error(`graph ${graph} is not held by the executor`);
      return this.submit(kept);
    }
    this.forget(graph);
    this.device.pushErrorScope('validation');
    let program: Program;
    this.pipelines.take();
    try {
      program = this.build(nodes);
      this.submit(program);
    } catch (err) {
      void this.device.popErrorScope();
      this.pipelines.drop(this.pipelines.take());
      throw err;
    }
    const made = this.pipelines.take();
    if (keep) this.programs.set(graph, program);
    else program.release();
    return this.device.popErrorScope().then((error) => {
      if (!error) return;
      this.forget(graph);
      this.pipelines.drop(made);
      throw Object.assign(new Error(error.message), { code: 'EINTERNAL' });
    });
  }

  forget(graph: number): void {
    this.programs.get(graph)?.release();
    this.programs.delete(graph);
  }

  /** Releases every buffer and the device; the executor cannot be used afterwards. */
  destroy(): void {
    for (const id of [...this.programs.keys()]) this.forget(id);
    this.buffers.destroy();
    this.staging?.destroy();
    this.gpu.destroy();
  }

  private build(nodes: Float64Array): Program {
    const owned: GPUBuffer[] = [];
    const ctx: LowerContext = {
      buffers: this.buffers,
      maxGroups: this.device.limits.maxComputeWorkgroupsPerDimension,
      sampleThreads: sampleThreads(this.device.limits.maxComputeInvocationsPerWorkgroup, this.device.limits.maxComputeWorkgroupStorageSize),
      scratch: (bytes) => {
        const gpu = this.device.createBuffer({ size: roundUp(Math.max(bytes, 4), 4), usage: GPUBufferUsage.STORAGE });
        owned.push(gpu);
        return { gpu, start: 0, bytes };
      },
    };
    try {
      return new Program(this.device, this.pipelines, this.device.limits, decodeGraph(nodes).flatMap((n) => lowerNode(ctx, n)), owned);
    } catch (err) {
      for (const b of owned) b.destroy();
      throw err;
    }
  }

  private submit(program: Program): void {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    program.encode(pass);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  private check(): void {
    if (this.failure) throw Object.assign(new Error(this.failure), { code: 'EINTERNAL' });
  }
}

/** An executor on the best GPU adapter here; rejects with code EUNSUPPORTED saying why not. */
export async function createWebGpuExecutor(options: WebGpuOptions = {}): Promise<WebGpuExecutor> {
  return new WebGpuExecutor(await openGpuDevice(options));
}
