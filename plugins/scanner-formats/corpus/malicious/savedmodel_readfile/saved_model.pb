31

n0Placeholder

n1ReadFile

n2MatMul