FD

n0Placeholder

n1StatefulPartitionedCall

f0PyFunc