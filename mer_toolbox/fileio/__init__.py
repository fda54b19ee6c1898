"""Shared file formats, the bottom layer every other package may import.

What more than one layer reads or writes lives here, with no dependency on
the rest of the package (only ``constants``): clip names and per-clip
errors, the clip list of extraction and prior generation, feature stores,
label files, the prior record (schema, FACS codes),
the prior store and the prior record -> arrays conversion with its cache.
Atomic writes keep a crash from leaving half a file behind.
"""
