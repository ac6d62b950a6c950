import { type Finding, protobufFields } from '@modelplane/plugin-sdk';

/** Ops that run Python or touch the filesystem when the graph runs (Save/Restore are left out: every checkpoint has them). */
const DANGEROUS_OPS: Record<string, Finding['severity']> = {
  PyFunc: 'CRITICAL',
  EagerPyFunc: 'CRITICAL',
  PyFuncStateless: 'CRITICAL',
  ReadFile: 'HIGH',
  WriteFile: 'HIGH',
  MatchingFiles: 'HIGH',
  DeleteFile: 'HIGH',
  ImmutableConst: 'HIGH',
};

const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

function nodeOp(node: Uint8Array): string {
  for (const field of protobufFields(node)) if (field.number === 2 && field.bytes) return text(field.bytes);
  return '';
}

/** GraphDef: node (1) → NodeDef.op (2); library (2) → FunctionDef (1) → node_def (3). */
function graphOps(graph: Uint8Array, ops: string[]): void {
  for (const field of protobufFields(graph)) {
    if (!field.bytes) continue;
    if (field.number === 1) ops.push(nodeOp(field.bytes));
    if (field.number === 2) {
      for (const fn of protobufFields(field.bytes)) {
        if (fn.number !== 1 || !fn.bytes) continue;
        for (const part of protobufFields(fn.bytes)) if (part.number === 3 && part.bytes) ops.push(nodeOp(part.bytes));
      }
    }
  }
}

/** TensorFlow SavedModel (`saved_model.pb`): SavedModel.meta_graphs (2) → MetaGraphDef.graph_def (2). */
export function scanSavedModel(bytes: Buffer, path: string): Finding[] {
  const ops: string[] = [];
  try {
    for (const field of protobufFields(bytes)) {
      if (field.number !== 2 || !field.bytes) continue;
      for (const part of protobufFields(field.bytes)) if (part.number === 2 && part.bytes) graphOps(part.bytes, ops);
    }
  } catch (error) {
    return [{ severity: 'HIGH', file: path, rule: 'savedmodel-unparsable', detail: `saved_model.pb cannot be read: ${(error as Error).message}` }];
  }
  return [...new Set(ops)]
    .filter((op) => DANGEROUS_OPS[op])
    .map((op) => ({ severity: DANGEROUS_OPS[op]!, file: path, rule: `savedmodel-op:${op}`, detail: `the graph uses ${op}, which ${op.includes('PyFunc') ? 'runs Python' : 'touches the filesystem'} when the model runs` }));
}
