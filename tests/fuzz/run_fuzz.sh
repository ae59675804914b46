#!/usr/bin/env bash
# Builds the tokenizer fuzz target with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs it for a bounded time. Uses libFuzzer when clang++ with the fuzzer runtime
# is present (Debian: clang libclang-rt-14-dev), else g++ with a random-input driver.
#
# Usage: tests/fuzz/run_fuzz.sh [SECONDS] [PYTHON]     (defaults: 60, python3)
# The tokenizers under test are trained by tests/python/test_tokenizer.py's builder
# (needs the `tokenizers` package and ../shared/data), plus all-MiniLM-L6-v2's if installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
python=${2:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" - "$work" <<'PY'
import random, sys
from pathlib import Path
sys.path.insert(0, "tests/python")
import tokenizer_cases as t
out = Path(sys.argv[1])
texts = t.data_sentences()
train = random.Random(0).sample(texts, 5000) + t.hard_texts()[:300]
paths = list(t.build_all(out, train).values())
if t.MINILM is not None and t.MINILM.is_file():
    paths.append(t.MINILM)
(out / "tokenizers.txt").write_text(":".join(map(str, paths)))
(out / "corpus").mkdir()
for i, s in enumerate(t.hard_texts()[:200:10] + texts[:20]):
    (out / "corpus" / f"seed{i}").write_text(s, encoding="utf-8")
for p in paths[:3]:
    (out / "corpus" / Path(p).name).write_text(Path(p).read_text(encoding="utf-8")[:4000], encoding="utf-8")
PY
export FASTSBERT_FUZZ_TOKENIZERS=$(cat "$work/tokenizers.txt")

srcs=(tests/fuzz/fuzz_tokenizer.cpp csrc/tokenizer/*.cpp csrc/common/json.cpp csrc/common/parallel.cpp)
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -Icsrc/include -Icsrc -pthread)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if command -v clang++ >/dev/null && echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long){return 0;}' |
     clang++ -x c++ -fsanitize=fuzzer - -o "$work/probe" 2>/dev/null; then
  clang++ "${flags[@]}" -fsanitize=fuzzer "${srcs[@]}" -o "$work/fuzz_tokenizer"
  "$work/fuzz_tokenizer" -max_total_time="$seconds" -max_len=4096 -timeout=20 -rss_limit_mb=4096 "$work/corpus"
else
  echo "run_fuzz: libFuzzer not available, using the g++ random-input driver"
  g++ "${flags[@]}" -DFASTSBERT_FUZZ_STANDALONE "${srcs[@]}" -o "$work/fuzz_tokenizer"
  "$work/fuzz_tokenizer" -max_total_time="$seconds" "$work"/corpus/*
fi
