"""Checks the BLIS kernels a compiled model ran with (BLIS_ARCH_DEBUG=1 on
stdin) against the runtime's rule (runtime/lib/BlisInit.h): BLIS's AVX-512
kernels ('skx') on an Intel CPU with AVX-512 F, DQ, BW and VL, BLIS's own
choice elsewhere.

    check_blis_arch.py < log
"""
import re
import sys

log = sys.stdin.read()
chosen = re.findall(r"selecting sub-configuration '(\w+)'", log)
if not chosen:
    sys.exit("check_blis_arch: BLIS printed no sub-configuration (was BLIS_ARCH_DEBUG=1 set?)")
vendor, flags = "", set()
with open("/proc/cpuinfo") as f:
    for line in f:
        key, _, value = line.partition(":")
        if key.strip() == "vendor_id" and not vendor:
            vendor = value.strip()
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
intel512 = vendor == "GenuineIntel" and {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= flags
print(f"check_blis_arch: {vendor}, AVX-512 {'yes' if intel512 else 'no'}: BLIS chose {chosen[0]}")
if intel512 and chosen[0] != "skx":
    sys.exit(f"check_blis_arch: expected BLIS's AVX-512 kernels (skx) on this CPU, got {chosen[0]}")
