"""A WAN link emulator for the benches: two network namespaces joined by a
TUN forwarder that applies rate, one-way delay, random loss and reordering
(the kernel here has no netem).  See bench/README.md."""
