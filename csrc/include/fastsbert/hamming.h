// fastsbert Hamming top-k: exact nearest neighbours among packed binary vectors.
//
// Vectors are sign bits packed 8 per byte, most significant bit first (the "ubinary"
// layout of sentence-transformers' quantize_embeddings and numpy.packbits): a 384-d
// embedding is 48 bytes. The distance between two vectors is the number of differing
// bits. Results are exact, nearest first, ties broken by the lower index; every SIMD level
// (scalar, AVX2, AVX-512 VPOPCNTDQ) returns identical results. Memory beyond the inputs
// and outputs: the selection state of a chunk of queries, about 64 MiB at most (more only
// when a single query's k needs it: 32 bytes per k per thread), and a 256 KiB packed corpus
// block per thread.
//
// Errors: std::invalid_argument for bad arguments, fastsbert::Cancelled when
// TopkOptions::cancel stops a call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastsbert/topk.h"

namespace fastsbert {

// A read-only view of `rows` packed vectors of `bytes` bytes each, row-major, contiguous.
struct PackedView {
  const uint8_t* data = nullptr;
  size_t rows = 0;
  size_t bytes = 0;
};

// For every query row, the topk_columns(k, corpus.rows) corpus rows nearest in Hamming
// distance; `distances` and `indices` are (queries.rows, topk_columns(k, corpus.rows)),
// row-major. Uses options.threads and options.cancel; options.metric is ignored.
void hamming_search(PackedView queries, PackedView corpus, size_t k, int32_t* distances,
                    int64_t* indices, const TopkOptions& options = {});

// Re-ranks candidates by exact cosine similarity of float vectors, as in binary retrieval
// with rescoring: `candidates` is (queries.rows, per_query) corpus row numbers (e.g. the
// indices hamming_search returned); `scores` and `indices` receive, per query, the best
// min(k, per_query) of them, best first, ties to the lower index. A zero vector scores 0.
// Only the candidate rows of `corpus` are read, so it may be a memory-mapped file.
// std::invalid_argument for a dimension mismatch or a candidate outside the corpus.
void rescore_candidates(MatrixView queries, MatrixView corpus, const int64_t* candidates,
                        size_t per_query, size_t k, float* scores, int64_t* indices,
                        const TopkOptions& options = {});

// The level hamming_search runs with now: FASTSBERT_SIMD, else the widest level this
// machine runs, lowered to avx2 when the CPU lacks AVX-512 VPOPCNTDQ.
SimdLevel hamming_simd_level();

}  // namespace fastsbert
