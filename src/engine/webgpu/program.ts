/// <reference types="@webgpu/types" />
// A graph made ready to run: every dispatch with its pipeline, bind group and parameters prebuilt,
// so running it is one compute pass and one submit. A reusable graph (the decode step) keeps its
// Program for as long as the engine holds the graph; others are built, submitted and released.
// Pipelines are shared by all programs of a device (keyed by their generated source).
import { dtypeBytes, type DType } from './graph';
import { roundUp, type Span } from './buffers';
import { shaderSource, type Kernel, type OperandSlot, type SlotKind } from './wgsl';

/** One operand of a dispatch: the bytes it occupies and how to read them. */
export interface Bound {
  span: Span;
  dtype: DType;
}

export interface DispatchSpec {
  kernel: Kernel;
  operands: Record<string, Bound>;
  params: Record<string, number>;
  groups: [number, number, number];
}

interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: [number, number, number];
}

/** Each dispatch's parameters take one slot of the program's uniform buffer. */
const PARAM_SLOT = 256;

export interface ProgramLimits {
  minStorageBufferOffsetAlignment: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
}

export class Pipelines {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(private readonly device: GPUDevice) {}

  layout(slots: SlotKind[]): GPUBindGroupLayout {
    const key = slots.map((s) => (s.writable ? 'w' : 'r')).join('');
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          ...slots.map((s, i) => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: s.writable ? ('storage' as const) : ('read-only-storage' as const) },
          })),
        ],
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** Forgets the pipelines made since the last call, returning them (take) or for good (drop):
   *  a run whose validation failed must not leave an invalid pipeline cached. */
  private fresh: string[] = [];
  take(): string[] {
    const made = this.fresh;
    this.fresh = [];
    return made;
  }
  drop(sources: string[]): void {
    for (const s of sources) this.pipelines.delete(s);
  }

  get(label: string, source: string, layout: GPUBindGroupLayout): GPUComputePipeline {
    let p = this.pipelines.get(source);
    if (!p) {
      this.fresh.push(source);
      p = this.device.createComputePipeline({
        label,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module: this.device.createShaderModule({ label, code: source }), entryPoint: 'main' },
      });
      this.pipelines.set(source, p);
    }
    return p;
  }
}

export class Program {
  private readonly dispatches: Dispatch[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: Pipelines,
    private readonly limits: ProgramLimits,
    specs: DispatchSpec[],
    /** Scratch buffers the specs use, released with the program. */
    private readonly owned: GPUBuffer[],
  ) {
    const uniforms = device.createBuffer({ size: Math.max(1, specs.length) * PARAM_SLOT, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.owned.push(uniforms);
    const data = new DataView(new ArrayBuffer(Math.max(1, specs.length) * PARAM_SLOT));
    specs.forEach((spec, i) => this.dispatches.push(this.assemble(spec, uniforms, data, i * PARAM_SLOT)));
    device.queue.writeBuffer(uniforms, 0, data.buffer);
  }

  /** Records every dispatch into `pass`. */
  encode(pass: GPUComputePassEncoder): void {
    for (const d of this.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.groups);
    }
  }

  /** Frees the uniforms and scratch (after work using them was submitted: WebGPU defers it). */
  release(): void {
    for (const b of this.owned) b.destroy();
  }

  /** Binding slots (one per GPUBuffer), the shader for them, and the parameters at `at`. */
  private assemble(spec: DispatchSpec, uniforms: GPUBuffer, data: DataView, at: number): Dispatch {
    const { kernel } = spec;
    const align = this.limits.minStorageBufferOffsetAlignment;
    const slots: { gpu: GPUBuffer; start: number; end: number; kind: SlotKind }[] = [];
    const slotOf = kernel.operands.map((name) => {
      const o = spec.operands[name];
      if (!o) throw new Error(`${kernel.label}: operand ${name} is not bound`);
      let s = slots.findIndex((x) => x.gpu === o.span.gpu);
      if (s < 0) s = slots.push({ gpu: o.span.gpu, start: o.span.start, end: 0, kind: { writable: false, atomic: false } }) - 1;
      const slot = slots[s];
      slot.start = Math.min(slot.start, o.span.start);
      slot.end = Math.max(slot.end, o.span.start + o.span.bytes);
      if (kernel.writes.includes(name)) {
        slot.kind.writable = true;
        slot.kind.atomic ||= dtypeBytes(o.dtype) < 4; // a store to part of a word
      }
      return s;
    });
    if (slots.length > this.limits.maxStorageBuffersPerShaderStage)
      throw new Error(`${kernel.label} needs ${slots.length} storage buffers; this adapter binds ${this.limits.maxStorageBuffersPerShaderStage}`);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniforms, offset: at, size: PARAM_SLOT } }];
    const bindStart = slots.map((s, i) => {
      const offset = Math.floor(s.start / align) * align;
      const size = roundUp(s.end - offset, 4);
      if (size > this.limits.maxStorageBufferBindingSize)
        throw Object.assign(new Error(`${kernel.label}: a binding of ${size} bytes exceeds this adapter's ${this.limits.maxStorageBufferBindingSize}`), {
          code: 'EUNSUPPORTED',
        });
      entries.push({ binding: i + 1, resource: { buffer: s.gpu, offset, size } });
      return offset;
    });
    const operands: OperandSlot[] = kernel.operands.map((name, i) => ({ name, dtype: spec.operands[name].dtype, slot: slotOf[i] }));
    // Parameters in the order of the generated struct: operand bases, then the kernel's own.
    let field = at;
    kernel.operands.forEach((name, i) => {
      const o = spec.operands[name];
      data.setUint32(field, (o.span.start - bindStart[slotOf[i]]) / dtypeBytes(o.dtype), true);
      field += 4;
    });
    for (const [name, type] of kernel.params) {
      const v = spec.params[name];
      if (v === undefined) throw new Error(`${kernel.label}: parameter ${name} is not set`);
      if (type === 'f32') data.setFloat32(field, v, true);
      else if (type === 'i32') data.setInt32(field, v, true);
      else data.setUint32(field, v, true);
      field += 4;
    }
    const kinds = slots.map((s) => s.kind);
    const layout = this.pipelines.layout(kinds);
    const pipeline = this.pipelines.get(kernel.label, shaderSource(kernel, operands, kinds), layout);
    return { pipeline, bindGroup: this.device.createBindGroup({ layout, entries }), groups: spec.groups };
  }
}
