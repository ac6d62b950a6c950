VT

n0Placeholder

n1MatMul

n2SaveV2

n3	RestoreV2

f0Identity