"""The committed Unicode tables (csrc/tokenizer/unicode_tables.cpp) are what
scripts/gen_unicode_tables.py writes, under a Python of the Unicode version they name."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata

import pytest
from build_helpers import REPO_ROOT

TABLES = REPO_ROOT / "csrc" / "tokenizer" / "unicode_tables.cpp"


def test_committed_tables_match_the_generator(tmp_path):
    committed = TABLES.read_text(encoding="ascii")
    version = re.search(r'kUnicodeVersion\[\] = "([^"]+)"', committed).group(1)
    assert f"// Unicode {version} tables" in committed.splitlines()[0]
    if unicodedata.unidata_version != version:
        pytest.skip(f"this Python has Unicode {unicodedata.unidata_version}; the committed "
                    f"tables are Unicode {version}")
    pytest.importorskip("regex")
    fresh = tmp_path / "unicode_tables.cpp"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gen_unicode_tables.py"),
                    str(fresh)], check=True)
    assert fresh.read_text(encoding="ascii") == committed, \
        "csrc/tokenizer/unicode_tables.cpp differs from the generator's output"
