"""Hardware: the device catalogue, this machine's calibration profile."""
