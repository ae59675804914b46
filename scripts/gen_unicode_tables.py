#!/usr/bin/env python3
"""Generates the tokenizer's Unicode tables, csrc/tokenizer/unicode_tables.cpp.

The generated file is committed, so a build never depends on the Unicode version of the
Python at hand; regenerate it (and commit it) only to move to another Unicode version:

    python scripts/gen_unicode_tables.py csrc/tokenizer/unicode_tables.cpp

The Unicode version is that of the running Python's ``unicodedata`` (Python 3.11: 14.0.0)
and is written into the file; tests/python/test_unicode_tables.py checks the committed file
against this generator under a Python of the same Unicode version.

Sources: Python's ``unicodedata`` (general category, canonical combining class,
NFD/NFKD decompositions, canonical compositions) and ``str.lower`` (per code point, as
Rust's ``char::to_lowercase`` does, so no context-sensitive final sigma), plus the
``regex`` package for the binary properties ``unicodedata`` does not expose
(White_Space, Alphabetic, Join_Control). Nothing here is typed in by hand.

Usage: gen_unicode_tables.py OUTPUT.cpp
"""

from __future__ import annotations

import string
import sys
import unicodedata

try:
    import regex
except ImportError:  # pragma: no cover - reported to CMake as a configure error
    sys.exit("gen_unicode_tables.py: the 'regex' package is required (pip install regex)")

MAX_CP = 0x110000

# Property bits; keep in sync with csrc/tokenizer/unicode.h.
WHITE_SPACE = 1 << 0  # White_Space (Rust char::is_whitespace)
OTHER = 1 << 1  # general category Cc, Cf or Co
PUNCT = 1 << 2  # general category P*, or ASCII punctuation
MN = 1 << 3  # general category Mn
MARK = 1 << 4  # general category Mn, Mc or Me
NUMERIC = 1 << 5  # general category Nd, Nl or No (Rust char::is_numeric)
WORD = 1 << 6  # regex \w: Alphabetic, M, Nd, Pc, Join_Control
LETTER = 1 << 7  # general category L*
NUMBER = 1 << 8  # general category N*  (same set as NUMERIC, kept for clarity)


def binary_property(pattern: str, chars: str) -> set[int]:
    return {ord(c) for c in regex.findall(pattern, chars)}


def main() -> None:
    out_path = sys.argv[1]
    chars = "".join(chr(c) for c in range(MAX_CP) if not 0xD800 <= c < 0xE000)
    white = binary_property(r"\p{White_Space}", chars)
    word = binary_property(r"[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]", chars)
    ascii_punct = {ord(c) for c in string.punctuation}

    pool: list[int] = [0]  # index 0 means "no mapping"
    pool_index: dict[tuple[int, ...], int] = {}

    def intern(seq: tuple[int, ...]) -> int:
        idx = pool_index.get(seq)
        if idx is None:
            idx = len(pool)
            pool_index[seq] = idx
            pool.append(len(seq))
            pool.extend(seq)
        return idx

    records: list[tuple[int, int, int, int, int]] = []
    record_index: dict[tuple[int, int, int, int, int], int] = {}
    cp_record = [0] * MAX_CP
    compositions: list[tuple[int, int, int]] = []

    for cp in range(MAX_CP):
        if 0xD800 <= cp < 0xE000:
            rec = (0, 0, 0, 0, 0)
        else:
            c = chr(cp)
            cat = unicodedata.category(c)
            flags = 0
            if cp in white:
                flags |= WHITE_SPACE
            if cat in ("Cc", "Cf", "Co"):
                flags |= OTHER
            if cat[0] == "P" or cp in ascii_punct:
                flags |= PUNCT
            if cat == "Mn":
                flags |= MN
            if cat[0] == "M":
                flags |= MARK
            if cat[0] == "N":
                flags |= NUMERIC | NUMBER
            # Only code points this unicodedata assigns: the regex package may know a
            # newer Unicode than the Rust regex crate HF tokenizers uses, which matches it.
            if cp in word and cat != "Cn":
                flags |= WORD
            if cat[0] == "L":
                flags |= LETTER
            low = c.lower()
            lower = intern(tuple(map(ord, low))) if low != c else 0
            # Hangul syllables are decomposed and composed algorithmically at run time.
            hangul = 0xAC00 <= cp < 0xAC00 + 11172
            nfd = unicodedata.normalize("NFD", c)
            nfkd = unicodedata.normalize("NFKD", c)
            nfd_i = intern(tuple(map(ord, nfd))) if nfd != c and not hangul else 0
            nfkd_i = intern(tuple(map(ord, nfkd))) if nfkd != c and not hangul else 0
            rec = (flags, unicodedata.combining(c), lower, nfd_i, nfkd_i)
            decomp = unicodedata.decomposition(c)
            if decomp and not decomp.startswith("<"):
                parts = [int(p, 16) for p in decomp.split()]
                # A primary composite: its canonical pair recomposes to it under NFC
                # (this excludes singletons, non-starters and the composition exclusions).
                if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == c:
                    compositions.append((parts[0], parts[1], cp))
        idx = record_index.get(rec)
        if idx is None:
            idx = len(records)
            record_index[rec] = idx
            records.append(rec)
        cp_record[cp] = idx

    # Two-stage table: stage1[cp >> 8] names a 256-entry block of record indices.
    blocks: list[tuple[int, ...]] = []
    block_index: dict[tuple[int, ...], int] = {}
    stage1 = []
    for hi in range(MAX_CP >> 8):
        blk = tuple(cp_record[hi << 8 : (hi + 1) << 8])
        bi = block_index.get(blk)
        if bi is None:
            bi = len(blocks)
            block_index[blk] = bi
            blocks.append(blk)
        stage1.append(bi)
    compositions.sort()

    def emit_array(f, ctype: str, name: str, values, per_line: int = 16) -> None:
        f.write(f"const {ctype} {name}[] = {{\n")
        vals = list(values)
        for i in range(0, len(vals), per_line):
            f.write("  " + ",".join(str(v) for v in vals[i : i + per_line]) + ",\n")
        f.write("};\n")

    with open(out_path, "w", encoding="ascii") as f:
        f.write(f"// Unicode {unicodedata.unidata_version} tables of the native tokenizer. ")
        f.write("Generated; do not edit.\n")
        f.write("// Command: python scripts/gen_unicode_tables.py ")
        f.write("csrc/tokenizer/unicode_tables.cpp\n")
        f.write("// (the Unicode version is that of the running Python's unicodedata)\n")
        f.write('#include "tokenizer/unicode.h"\n\n')
        f.write("namespace fastsbert::tok::unicode::tables {\n\n")
        f.write(f'const char kUnicodeVersion[] = "{unicodedata.unidata_version}";\n')
        emit_array(f, "uint16_t", "kStage1", stage1)
        emit_array(f, "uint16_t", "kStage2", (v for blk in blocks for v in blk))
        f.write("const Record kRecords[] = {\n")
        for r in records:
            f.write("  {%d,%d,%d,%d,%d},\n" % r)
        f.write("};\n")
        emit_array(f, "uint32_t", "kPool", pool)
        f.write("const Composition kCompositions[] = {\n")
        for a, b, c in compositions:
            f.write(f"  {{{a},{b},{c}}},\n")
        f.write("};\n")
        f.write(f"const size_t kCompositionCount = {len(compositions)};\n\n")
        f.write("}  // namespace fastsbert::tok::unicode::tables\n")


if __name__ == "__main__":
    main()
