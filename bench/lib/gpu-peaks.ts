// Datasheet peaks, for reporting a GPU run as a fraction of what the device
// can do. WGSL has no tensor-core path and every kernel here accumulates in
// f32, so compute is compared with the FP32 (CUDA-core) peak for f32 and f16
// alike; memory-bound kernels with the HBM bandwidth.

export interface GpuPeak {
  readonly name: string;
  /** Dense FP32 on the CUDA cores, TFLOP/s. */
  readonly fp32Tflops: number;
  /** Dense FP16 on the tensor cores (what cuBLAS can reach), TFLOP/s; for context only. */
  readonly fp16TensorTflops: number;
  /** Memory bandwidth, TB/s. */
  readonly memoryTBs: number;
}

export const GPU_PEAKS: Readonly<Record<string, GpuPeak>> = {
  h200: { name: 'NVIDIA H200 SXM', fp32Tflops: 67, fp16TensorTflops: 989, memoryTBs: 4.8 },
  'h200-nvl': { name: 'NVIDIA H200 NVL', fp32Tflops: 60, fp16TensorTflops: 835, memoryTBs: 4.8 },
  h100: { name: 'NVIDIA H100 SXM', fp32Tflops: 67, fp16TensorTflops: 989, memoryTBs: 3.35 },
  a100: { name: 'NVIDIA A100 SXM 80GB', fp32Tflops: 19.5, fp16TensorTflops: 312, memoryTBs: 2.04 },
  l40s: { name: 'NVIDIA L40S', fp32Tflops: 91.6, fp16TensorTflops: 362, memoryTBs: 0.864 },
};

export function gpuPeak(key: string): GpuPeak {
  const peak = GPU_PEAKS[key.toLowerCase()];
  if (!peak) throw new Error(`unknown GPU '${key}' for peak figures; known: ${Object.keys(GPU_PEAKS).join(', ')}`);
  return peak;
}
