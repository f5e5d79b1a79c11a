/// <reference types="@webgpu/types" />
// Finding a GPU for the WebGPU backend: the npm package `webgpu` (Dawn's Node bindings) on the
// platform's own API — Metal on macOS, D3D12 on Windows, Vulkan on Linux — at the core feature
// level. A software adapter (Mesa llvmpipe, lavapipe, SwiftShader, WARP) is slower than the CPU
// backend and is used only when the caller allows it (tests and CI): then, on Linux, Dawn's OpenGL
// ES backend on Mesa's surfaceless EGL platform (compatibility feature level) is tried too.
// Every refusal is an Error with code EUNSUPPORTED saying why, so the worker falls back to the CPU.

export interface WebGpuOptions {
  /** Accept a software adapter. The `auto` backend never does; tests and CI do. */
  allowSoftwareAdapter?: boolean;
}

export interface GpuDevice {
  device: GPUDevice;
  /** "webgpu Apple M2 (Metal)", "webgpu llvmpipe (OpenGL ES, software)". */
  name: string;
  software: boolean;
  /** Releases the device and Dawn's instance (Node can exit afterwards). */
  destroy(): void;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

const unsupported = (message: string): Error => Object.assign(new Error(message), { code: 'EUNSUPPORTED' });

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver|warp/i;
const PLATFORM_API: Record<string, string> = { darwin: 'Metal', win32: 'D3D12', linux: 'Vulkan' };

async function loadDawn(): Promise<DawnModule> {
  try {
    // The package is an ES module: a dynamic import (esbuild keeps it as one in the CommonJS bundles).
    const dawn = (await import('webgpu')) as DawnModule;
    // Dawn's objects check their arguments with instanceof against these classes.
    Object.assign(globalThis, dawn.globals);
    return dawn;
  } catch (err) {
    throw unsupported(`the webgpu package (Dawn) cannot load on ${process.platform}-${process.arch}: ${(err as Error).message}`);
  }
}

const describe = (a: GPUAdapter): string => (a.info.device || a.info.description || a.info.vendor || 'unknown adapter').replace(/-+$/, '');
const isSoftware = (a: GPUAdapter): boolean => a.info.isFallbackAdapter || SOFTWARE.test(`${a.info.device} ${a.info.description}`);

/** The limits the kernels can use: the adapter's own, where they exceed WebGPU's defaults. */
function requiredLimits(a: GPUAdapter): Record<string, number> {
  const l = a.limits;
  return {
    maxBufferSize: l.maxBufferSize,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    // 256 threads per workgroup: WebGPU's core default, above the compatibility level's 128.
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
  };
}

export async function openGpuDevice(options: WebGpuOptions = {}): Promise<GpuDevice> {
  const dawn = await loadDawn();
  let gpu: GPU | undefined = dawn.create([]);
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  let api = PLATFORM_API[process.platform] ?? 'native';
  if (!adapter && options.allowSoftwareAdapter && process.platform === 'linux') {
    // Mesa without a display: EGL's surfaceless platform (read when Dawn opens EGL).
    process.env.EGL_PLATFORM ??= 'surfaceless';
    gpu = dawn.create(['backend=opengles']);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    api = 'OpenGL ES';
  }
  if (!adapter) throw unsupported(`the webgpu package (Dawn) found no GPU adapter (${api})`);
  const software = isSoftware(adapter);
  if (software && !options.allowSoftwareAdapter)
    throw unsupported(`the webgpu package (Dawn) found only a software renderer (${describe(adapter)}), slower than the CPU backend`);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  } catch (err) {
    throw unsupported(`the webgpu adapter ${describe(adapter)} refused a device: ${(err as Error).message}`);
  }
  const name = `webgpu ${describe(adapter)} (${api}${software ? ', software' : ''})`;
  return {
    device,
    name,
    software,
    destroy: () => {
      device.destroy();
      gpu = undefined; // Dawn's instance goes with its last reference
    },
  };
}
