export { z } from 'zod';
export type { MpErrorClass, MpErrorOptions } from './errors.ts';
export { defineError, isMpError, MpError } from './errors.ts';
export type * from './extensions.ts';
export { EXTENSION_POINTS } from './extensions.ts';
export {
  estimateCostMicroUsd,
  microToUsd,
  priceUsage,
  selfHostedCostProfile,
  tokenCostProfile,
  usdToMicro,
} from './gateway.ts';
export type { BudgetThresholdEvent, HookName, ModelCallEvent, ModelplaneHooks } from './hooks.ts';
export type { ModelplanePlugin, PluginContext, PluginDefinition, PluginLogger, Register } from './plugin.ts';
export { definePlugin, isBrandedPlugin, PLUGIN_BRAND, SDK_PLUGIN_API_VERSION } from './plugin.ts';
export type { InferOutput, StandardSchema, StandardSchemaIssue, StandardSchemaResult } from './schema.ts';
export { formatPath } from './schema.ts';
export {
  BadTensor,
  bytesPerElement,
  concatBatch,
  DATATYPES,
  elementCount,
  fromBinary,
  fromHalf,
  fromJsonData,
  isDatatype,
  splitBatch,
  toBinary,
  toHalf,
  toJsonData,
} from './tensors.ts';
export type { Datatype, NumericData, Tensor, TensorData, TensorSpec } from './tensors.ts';
export { loadRequestFromDirectory, runtimeConformance } from './conformance/runtime.ts';
export type { ConformanceCheck, RuntimeFixture } from './conformance/runtime.ts';
export { externalDataLocations, inspectOnnx, protobufFields } from './onnx.ts';
export type { OnnxModelInfo, ProtobufField } from './onnx.ts';
export {
  BatchSplitFailed,
  batchKey,
  byteSize,
  dataLength,
  decodeBytes,
  encodeBytes,
  floatsFromHalf,
  halfFromFloats,
  zeroData,
  zeroTensor,
} from './tensors.ts';
export type { NumericDatatype } from './tensors.ts';
export { BadRuntimeOptions, canBatch, checkInferRequest, InstanceUnavailable, parseRuntimeOptions, readAll, UnservableModel, warmupInputs } from './runtime.ts';
export type { ConformanceOptions } from './conformance/runtime.ts';
export { isProviderError, ProviderError, providerFetch, retryAfterMs, toProviderError } from './provider.ts';
export { scannerConformance, scanTargetFromBytes } from './conformance/scanner.ts';
export type { ScannerFixture } from './conformance/scanner.ts';
export { routerStrategyConformance, sampleCandidates } from './conformance/router.ts';
export type { RouterConformanceOptions } from './conformance/router.ts';
export { guardConformance } from './conformance/guard.ts';
export type { GuardSamples } from './conformance/guard.ts';
export * from './sidecar/index.ts';
