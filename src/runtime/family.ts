// GPU family fingerprint from adapter info: picks tuning tables and keys persisted results.

export type GpuFamily =
  | 'apple-m1' | 'apple-m2' | 'apple-m3' | 'apple-m4' | 'apple'
  | 'nvidia' | 'amd' | 'intel' | 'qualcomm' | 'arm' | 'software' | 'generic';
export type SizeClass = 'base' | 'pro' | 'max' | 'ultra';

export interface AdapterDescription {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

export interface GpuFingerprint {
  family: GpuFamily;
  sizeClass?: SizeClass;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Stable id for persisted tuning and pipeline records, e.g. `apple-m3:max` or `nvidia:nvidia-h100-80gb-hbm3`. */
  id: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic render/i;

export function fingerprint(info: AdapterDescription): GpuFingerprint {
  const vendor = (info.vendor ?? '').toLowerCase();
  const architecture = (info.architecture ?? '').toLowerCase();
  const device = (info.device ?? '').toLowerCase();
  const description = info.description ?? '';
  const all = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  let family: GpuFamily = 'generic';
  let sizeClass: SizeClass | undefined;
  const apple = /apple\s*m(\d)\s*(pro|max|ultra)?/i.exec(description) ?? /apple\s*m(\d)\s*(pro|max|ultra)?/i.exec(device);
  if (SOFTWARE.test(all)) family = 'software';
  else if (apple) {
    const gen = Number(apple[1]);
    family = gen >= 1 && gen <= 4 ? (`apple-m${gen}` as GpuFamily) : 'apple';
    sizeClass = (apple[2]?.toLowerCase() as SizeClass | undefined) ?? 'base';
  } else if (vendor.includes('apple') || architecture.startsWith('metal') || architecture.startsWith('common-')) family = 'apple';
  else if (vendor.includes('nvidia') || all.includes('nvidia')) family = 'nvidia';
  // Whole words: 'ati' is inside 'corporation' (e.g. 'intel corporation').
  else if (/\b(amd|ati)\b|advanced micro devices/.test(vendor) || /radeon/.test(all)) family = 'amd';
  else if (vendor.includes('intel')) family = 'intel';
  else if (vendor.includes('qualcomm') || /adreno/.test(all)) family = 'qualcomm';
  else if (vendor === 'arm' || /mali/.test(all)) family = 'arm';
  const detail = sizeClass ?? (device || architecture || 'unknown');
  return { family, sizeClass, vendor, architecture, device, description, id: `${family}:${detail}`.replace(/\s+/g, '-') };
}
