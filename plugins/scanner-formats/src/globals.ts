import type { Severity } from '@modelplane/plugin-sdk';

/**
 * Allowlist first: a pickle may name these and nothing else without a finding. They rebuild tensors, arrays and
 * plain containers; none of them can run code of the pickle's choosing.
 */
const SAFE = new Set([
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.deque',
  'builtins.set',
  'builtins.frozenset',
  'builtins.list',
  'builtins.dict',
  'builtins.tuple',
  'builtins.bytearray',
  'builtins.bytes',
  'builtins.complex',
  'builtins.slice',
  'builtins.range',
  'builtins.int',
  'builtins.float',
  'builtins.str',
  'builtins.bool',
  '__builtin__.set',
  '__builtin__.frozenset',
  '__builtin__.list',
  '__builtin__.dict',
  '__builtin__.tuple',
  '__builtin__.complex',
  '__builtin__.slice',
  '__builtin__.object',
  'builtins.object',
  'copyreg._reconstructor',
  'copy_reg._reconstructor',
  '_codecs.encode',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Size',
  'torch.device',
  'torch.nn.parameter.Parameter',
  'torch.serialization._get_layout',
]);

const TORCH_STORAGES = /^torch\.(cuda\.)?(Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool|ComplexFloat|ComplexDouble|QInt8|QUInt8|QInt32|Untyped)Storage$/;
const TORCH_DTYPES = /^torch\.(float|double|half|bfloat16|float16|float32|float64|int|int8|int16|int32|int64|uint8|bool|long|short|complex64|complex128|qint8|quint8|qint32|float8_e4m3fn|float8_e5m2)$/;
const NUMPY_SCALARS = /^numpy\.(dtypes\.\w+DType|(u?int|float|complex)\d*|bool_)$/;

/** Modules whose every member can reach the operating system, the network, or arbitrary code. */
const DANGEROUS_MODULES = [
  'os', 'posix', 'nt', 'subprocess', 'sys', 'socket', 'shutil', 'pty', 'commands', 'runpy', 'webbrowser', 'importlib',
  'marshal', 'pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle', 'joblib.externals.cloudpickle', 'types', 'ctypes', 'multiprocessing',
  'urllib', 'urllib2', 'http', 'httplib', 'requests', 'ftplib', 'smtplib', 'telnetlib', 'asyncio', 'code', 'codeop', 'pdb',
  'bdb', 'timeit', 'trace', 'profile', 'cProfile', 'platform', 'pip', 'setuptools', 'distutils', 'tempfile', 'glob', 'pathlib',
  'zipimport', 'pkgutil', 'signal', 'threading', '_thread', 'gc', 'inspect', 'builtins.__import__', 'operator', 'functools',
  'torch.hub', 'torch.jit', 'torch._C', 'torch.utils.cpp_extension', 'torch._dynamo', 'torch._inductor', 'torch.package',
  'torch.distributed', 'numpy.testing', 'numpy.distutils', 'numpy.f2py', 'numpy.ctypeslib', 'sqlite3', 'xmlrpc', 'venv',
  'ensurepip', 'idlelib', 'lib2to3', 'pydoc', 'site', 'sysconfig', 'uuid', 'logging.handlers', 'logging.config',
];

/** Single members known to read or write files, run code, or make calls on attacker-chosen objects. */
const DANGEROUS_NAMES = new Set([
  'builtins.eval', 'builtins.exec', 'builtins.compile', 'builtins.open', 'builtins.getattr', 'builtins.setattr',
  'builtins.delattr', 'builtins.__import__', 'builtins.input', 'builtins.breakpoint', 'builtins.globals', 'builtins.locals',
  'builtins.vars', 'builtins.exit', 'builtins.help', 'builtins.memoryview', 'builtins.type', 'builtins.super', 'builtins.classmethod',
  'builtins.staticmethod', 'builtins.property', 'builtins.map', 'builtins.filter', 'builtins.apply',
  '__builtin__.eval', '__builtin__.exec', '__builtin__.compile', '__builtin__.open', '__builtin__.getattr', '__builtin__.execfile',
  '__builtin__.file', '__builtin__.apply', '__builtin__.__import__',
  'io.FileIO', 'io.open', 'io.open_code', '_io.FileIO', '_io.open', 'codecs.open',
  'logging.FileHandler', 'logging.StreamHandler', 'logging.basicConfig',
  'torch.load', 'torch.save', 'torch.serialization.load', 'torch.storage._load_from_bytes', 'torch._load_global_deps',
  'torch.classes.load_library', 'torch.ops.load_library', 'torch.utils.data.datapipes.utils.decoder.basichandlers',
  'numpy.load', 'numpy.lib.npyio.load', 'numpy.fromfile', 'numpy.memmap', 'numpy.loadtxt',
  'pandas.read_pickle', 'pandas.io.pickle.read_pickle', 'joblib.load', 'yaml.load', 'yaml.unsafe_load',
  'copyreg.__newobj__', 'copyreg.__newobj_ex__',
]);

export interface GlobalVerdict {
  severity: Severity | null;
  reason: string;
}

/** Allowlisted → no finding; known dangerous → CRITICAL; anything else → HIGH (unknown code is still code). */
export function classifyGlobal(module: string, name: string): GlobalVerdict {
  const full = `${module}.${name}`;
  if (SAFE.has(full) || TORCH_STORAGES.test(full) || TORCH_DTYPES.test(full) || NUMPY_SCALARS.test(full)) {
    return { severity: null, reason: 'allowlisted' };
  }
  if (DANGEROUS_NAMES.has(full) || DANGEROUS_MODULES.some((m) => module === m || module.startsWith(`${m}.`) || full === m)) {
    return { severity: 'CRITICAL', reason: `${full} can run code, touch files or reach the network when the pickle is loaded` };
  }
  return { severity: 'HIGH', reason: `${full} is not on the allowlist; loading the pickle imports and may call it` };
}

/** Strings whose presence means a pickle is walking Python internals, whatever imports it dresses them in. */
export const DUNDER_GADGETS = new Set(['__builtins__', '__globals__', '__code__', '__subclasses__', '__import__', '__reduce__', '__reduce_ex__', '__getattribute__', '__bases__', '__mro__', 'func_globals']);
