"""Cost models: counts (params, ops, bytes), memory, time. They read a Network only."""
