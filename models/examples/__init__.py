"""Small actor protocols that show what each fault breaks.

- ``register`` (model ``demo-register``): a client writes to replicas over a
  FIFO network; message loss, duplication, reordering, partitions, one-way link
  loss and crash-stop each break one of its properties.
- ``lease`` (model ``demo-lease``): a lock server grants time leases; clock
  skew, clock jumps, crash-recovery with a volatile lease table and a Byzantine
  server each break mutual exclusion.

Without faults every property of both holds.
"""
