// Bindings and workgroup size of a compute entry point, reflected from its final WGSL,
// and the explicit bind group / pipeline layouts built from them (no 'auto' layouts).
import type { WgslReflect as WgslReflectClass, VariableInfo, StructInfo, ArrayInfo, FunctionInfo } from 'wgsl_reflect';
// @ts-expect-error -- the package `main` is CommonJS inside a "type": "module" package, so Node
// cannot load it; its ESM build works everywhere but has no .d.ts next to it.
import { WgslReflect as WgslReflectImpl } from 'wgsl_reflect/wgsl_reflect.module.js';
import { GpuValidationError } from '../errors.js';

const WgslReflect = WgslReflectImpl as typeof WgslReflectClass;

// WebGPU enum values, fixed by the spec; spelled out so this file needs no GPU globals.
const SHADER_STAGE_COMPUTE = 0x4;
const RESOURCE_UNIFORM = 0;
const RESOURCE_STORAGE = 1;

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

export interface BindingInfo {
  readonly group: number;
  readonly binding: number;
  readonly name: string;
  readonly kind: BindingKind;
  /** Smallest binding size in bytes: the type's size, or for runtime-sized arrays the fixed prefix plus one element. */
  readonly minBytes: number;
  /**
   * A uniform named `params` takes a dynamic offset: every dispatch of a batch keeps its params
   * in one shared buffer, so bind groups stay reusable across dispatches.
   */
  readonly dynamicOffset: boolean;
}

export interface EntryLayout {
  readonly bindings: readonly BindingInfo[];
  /** Workgroup size with `constants` applied to override names; null if reflection could not tell. */
  readonly workgroupSize: readonly [number, number, number] | null;
}

/** Reflects `entryPoint` of `code`: the bindings it (or anything it calls) uses, sorted by group and binding. */
export function reflectEntry(code: string, entryPoint: string, constants: Readonly<Record<string, number>> = {}): EntryLayout {
  const reflect = new WgslReflect(code.includes('subgroup_matrix') ? sanitizeSubgroupMatrix(code) : code);
  const fn = reflect.entry.compute.find((f) => f.name === entryPoint);
  if (!fn) {
    const names = reflect.entry.compute.map((f) => f.name).join(', ') || '(none)';
    throw new Error(`no @compute entry point '${entryPoint}'; compute entry points: ${names}`);
  }
  const bindings = fn.resources.map(toBinding).sort((a, b) => a.group - b.group || a.binding - b.binding);
  return { bindings, workgroupSize: workgroupSize(fn, constants) };
}

function toBinding(v: VariableInfo): BindingInfo {
  let kind: BindingKind;
  if (v.resourceType === RESOURCE_UNIFORM) kind = 'uniform';
  else if (v.resourceType === RESOURCE_STORAGE) kind = v.access === 'read' ? 'read-only-storage' : 'storage';
  else throw new Error(`binding '${v.name}' (@group(${v.group}) @binding(${v.binding})) is not a buffer; kernels take buffers only`);
  const dynamicOffset = kind === 'uniform' && v.name === 'params';
  return { group: v.group, binding: v.binding, name: v.name, kind, minBytes: minBytes(v), dynamicOffset };
}

function minBytes(v: VariableInfo): number {
  const t = v.type;
  if (t.isArray && (t as ArrayInfo).count === 0) return (t as ArrayInfo).stride;
  if (t.isStruct) {
    const s = t as StructInfo;
    const last = s.members[s.members.length - 1];
    if (last && last.isArray && last.count === 0) return roundUp(last.offset + last.stride, s.align || 1);
  }
  return t.size;
}

function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}

function workgroupSize(fn: FunctionInfo, constants: Readonly<Record<string, number>>): [number, number, number] | null {
  const size = fn.workgroupSize ? ([...fn.workgroupSize] as [number, number, number]) : null;
  const attr = fn.attributes?.find((a) => a.name === 'workgroup_size');
  if (!size || !attr || attr.value === null) return size;
  // Reflection resolved override names with their defaults; pipeline constants replace those.
  const args = Array.isArray(attr.value) ? attr.value : [attr.value];
  args.slice(0, 3).forEach((arg, i) => {
    const key = String(arg).trim();
    if (Object.hasOwn(constants, key)) size[i] = constants[key];
  });
  return size;
}

export interface Layouts {
  readonly bindGroupLayouts: readonly GPUBindGroupLayout[];
  readonly pipelineLayout: GPUPipelineLayout;
}

/** One bind group layout per group index up to the highest used (empty ones fill gaps). */
export function createLayouts(device: GPUDevice, bindings: readonly BindingInfo[], label: string): Layouts {
  const groups = bindings.reduce((n, b) => Math.max(n, b.group + 1), 0);
  const bindGroupLayouts: GPUBindGroupLayout[] = [];
  for (let g = 0; g < groups; g++) {
    const entries: GPUBindGroupLayoutEntry[] = bindings
      .filter((b) => b.group === g)
      .map((b) => ({ binding: b.binding, visibility: SHADER_STAGE_COMPUTE, buffer: { type: b.kind, minBindingSize: b.minBytes, hasDynamicOffset: b.dynamicOffset } }));
    bindGroupLayouts.push(device.createBindGroupLayout({ label: `${label} group ${g}`, entries }));
  }
  const pipelineLayout = device.createPipelineLayout({ label, bindGroupLayouts });
  return { bindGroupLayouts, pipelineLayout };
}

/** A whole buffer, or a range of one. */
export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

// GPUBufferUsage values, fixed by the spec.
const USAGE_UNIFORM = 0x40;
const USAGE_STORAGE = 0x80;

/** Checks named buffers against a kernel's group 0 bindings, then creates the bind group. */
export function createBindGroup(
  device: GPUDevice,
  kernel: string,
  bindings: readonly BindingInfo[],
  layout: GPUBindGroupLayout | undefined,
  buffers: Readonly<Record<string, BufferBinding>>,
): GPUBindGroup {
  const fail = (msg: string): never => {
    throw new GpuValidationError(`kernel '${kernel}': ${msg}`);
  };
  const group0 = bindings.filter((b) => b.group === 0);
  const expected = group0.map((b) => `'${b.name}'`).join(', ') || '(none)';
  if (!layout || group0.length === 0) fail('it has no bindings in group 0');
  for (const name of Object.keys(buffers)) {
    if (!group0.some((b) => b.name === name)) fail(`no binding named '${name}'; its bindings are ${expected}`);
  }
  const limits = device.limits;
  const entries = group0.map((b): GPUBindGroupEntry => {
    const where = `binding '${b.name}' (@group(0) @binding(${b.binding}), ${b.kind})`;
    const given = Object.hasOwn(buffers, b.name) ? buffers[b.name] : undefined;
    if (!given) return fail(`missing buffer for ${where}; its bindings are ${expected}`);
    const { buffer, offset = 0, size } = 'buffer' in given ? given : { buffer: given, size: undefined };
    const bytes = size ?? buffer.size - offset;
    if (offset < 0 || bytes < 0 || offset + bytes > buffer.size) {
      fail(`${where}: range offset ${offset}, size ${bytes} is outside its buffer of ${buffer.size} bytes`);
    }
    const uniform = b.kind === 'uniform';
    if (!(buffer.usage & (uniform ? USAGE_UNIFORM : USAGE_STORAGE))) {
      fail(`${where} needs a buffer created with GPUBufferUsage.${uniform ? 'UNIFORM' : 'STORAGE'} (its usage is 0x${buffer.usage.toString(16)})`);
    }
    if (bytes < b.minBytes) fail(`${where} needs at least ${b.minBytes} bytes, got ${bytes}`);
    const align = uniform ? limits.minUniformBufferOffsetAlignment : limits.minStorageBufferOffsetAlignment;
    if (offset % align) fail(`${where}: offset ${offset} is not a multiple of ${align}`);
    const max = uniform ? limits.maxUniformBufferBindingSize : limits.maxStorageBufferBindingSize;
    if (bytes > max) fail(`${where}: ${bytes} bytes exceeds the device limit of ${max} for one binding`);
    if (!uniform && bytes % 4) fail(`${where}: storage binding size ${bytes} is not a multiple of 4`);
    return { binding: b.binding, resource: { buffer, offset, size: bytes } };
  });
  return device.createBindGroup({ label: kernel, layout: layout as GPUBindGroupLayout, entries });
}

/**
 * wgsl_reflect cannot parse subgroup-matrix types. Bindings do not depend on them, so
 * reflection reads the source with those types replaced by a plain one (Dawn compiles the real one).
 */
export function sanitizeSubgroupMatrix(code: string): string {
  return code
    // Dawn checks that a binding holds at least one fragment (16 x 16 f16 = 512 bytes): a
    // stride of 512 makes the reflected minimum binding size match.
    .replace(/(var<storage,\s*read>\s+\w+\s*:\s*)array<f16>/g, '$1array<array<vec4<f32>, 32>>')
    .replace(/subgroup_matrix_(left|right|result)<[^<>]*>/g, 'vec4<f32>')
    .replace(/(subgroupMatrix\w+)<[^<>()]*>\s*\(/g, '$1(');
}
