export { expectTensors, parseSpec, pickFile, readSafetensors, readSpecAndWeights } from './artifacts.ts';
export type { SafetensorsEntry } from './artifacts.ts';
export { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, Op, tensorsFromWire, tensorsToWire } from './framing.ts';
export type { Frame, OpCode, WireTensor } from './framing.ts';
export { SidecarInstance, SidecarRuntimeOptions, supervisionOf } from './instance.ts';
export { ensurePythonEnv, pythonEnvDir, resolvePython, SIDECAR_PYTHON_LIBRARY } from './python-env.ts';
export type { PythonEnvSpec } from './python-env.ts';
export { Sidecar, SidecarFailed, sidecarError } from './supervisor.ts';
export type { SidecarOptions, SidecarProcess } from './supervisor.ts';
