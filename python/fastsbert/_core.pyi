"""
fastsbert native core (private; use the fastsbert package)
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['CancelledError', 'CorruptFileError', 'Encoder', 'FastsbertError', 'InvalidArgumentError', 'MissingFileError', 'Tokenizer', 'UnsupportedTokenizerError', 'available_cpus', 'cpu_features', 'cpu_features_detected', 'hamming_search', 'hamming_simd_level', 'int8_is_fast', 'onnxruntime_version', 'rescore', 'static_simd_level', 'static_simd_levels', 'topk', 'topk_communities', 'topk_cuda_available', 'topk_pairs', 'topk_simd_level', 'topk_simd_levels', 'topk_simd_rates', 'version']
class FastsbertError(RuntimeError):
    """
    Base of fastsbert's native errors; raised as such for runtime failures (ONNX Runtime cannot load or run the model).
    """
class InvalidArgumentError(FastsbertError, ValueError):
    """
    A bad argument value (device, thread count, text).
    """
class CorruptFileError(InvalidArgumentError):
    """
    A malformed model or tokenizer file; the message names the file, the key and the value.
    """
class MissingFileError(FastsbertError, FileNotFoundError):
    """
    A missing model directory or file; the message names it.
    """
class CancelledError(FastsbertError):
    """
    A native call was cancelled before it finished.
    """
class UnsupportedTokenizerError(FastsbertError):
    """
    A valid tokenizer.json using a component the native tokenizer does not reproduce.
    """
class Encoder:
    def __init__(self, model_dir: str, device: str = 'cpu', threads: typing.SupportsInt | typing.SupportsIndex = 0, ort_library: str = '', dtype: str = 'float32') -> None:
        ...
    def encode_ids(self, ids: numpy.ndarray, offsets: numpy.ndarray, batch_size: typing.SupportsInt | typing.SupportsIndex = 32, progress: typing.Any = None, prompt_length: typing.SupportsInt | typing.SupportsIndex = 0, type_ids: numpy.ndarray | None = None) -> numpy.typing.NDArray[numpy.float32]:
        """
        Embeds CSR token sequences; returns a (n, dim) float32 array in input order. prompt_length: leading tokens pooling leaves out (include_prompt=false models); type_ids: int64 token type ids aligned with ids (None: all 0).
        """
    def encode_pairs(self, first: typing.Any, second: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex = 32, progress: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
        """
        Tokenizes text pairs natively and runs them; returns a (n, dim) float32 array (a cross-encoder's scores) in input order.
        """
    def encode_texts(self, texts: list, batch_size: typing.SupportsInt | typing.SupportsIndex = 32, progress: typing.Any = None, prompt_length: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
        """
        Tokenizes natively and embeds; returns a (n, dim) float32 array in input order. prompt_length: leading tokens pooling leaves out (include_prompt=false models).
        """
    def tokenize(self, texts: list, max_length: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Token ids as the model sees them, CSR: (ids int64 (total,), offsets int64 (n + 1,)); each cut to max_length tokens (0: max_seq_length).
        """
    def tokenize_pairs(self, first: typing.Any, second: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Text pairs as the model sees them, CSR: (ids int64 (total,), type_ids int64 (total,), offsets int64 (n + 1,)); each pair cut to max_length tokens (0: max_seq_length) longest first.
        """
    @property
    def dim(self) -> int:
        ...
    @property
    def dtype(self) -> str:
        ...
    @property
    def engine(self) -> str:
        """
        "onnx" (ONNX Runtime) or "static" (embedding-bag mean, no ONNX Runtime).
        """
    @property
    def has_tokenizer(self) -> bool:
        ...
    @property
    def max_seq_length(self) -> int:
        ...
    @property
    def model_dir(self) -> str:
        ...
    @property
    def normalize(self) -> bool:
        ...
    @property
    def pad_token_id(self) -> int:
        ...
    @property
    def pooling(self) -> str:
        ...
    @property
    def tokenizer_unavailable_reason(self) -> str:
        ...
class Tokenizer:
    """
    A tokenizer.json pipeline (normalizer, pre-tokenizer, model, post-processor) run natively.
    
    Token ids equal the `tokenizers` library's (special tokens added, the file's truncation
    applied, padding ignored). Batch methods take a list (or another ordered iterable) of str,
    release the GIL, spread the texts over `threads` threads (0: every available CPU) and
    stop on Ctrl-C. `max_length` 0 keeps the file's truncation; a positive value cuts each
    sequence to that many tokens, special tokens included.
    """
    @staticmethod
    def from_file(path: typing.Any) -> Tokenizer:
        """
        Loads a tokenizer.json (str or path-like); raises UnsupportedTokenizerError naming a component the native tokenizer does not reproduce.
        """
    def encode(self, text: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0) -> list[int]:
        """
        Token ids of one text (special tokens added).
        """
    def encode_batch(self, texts: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> list:
        """
        Token ids of each text, as lists.
        """
    def encode_batch_csr(self, texts: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        CSR token ids: ids int64 (total,) and offsets int64 (n + 1,); text i is ids[offsets[i]:offsets[i + 1]].
        """
    def encode_batch_padded(self, texts: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0, threads: typing.SupportsInt | typing.SupportsIndex = 0, pad_id: typing.SupportsInt | typing.SupportsIndex | None = None) -> tuple:
        """
        Padded token ids and attention mask, both int64 (n, longest sequence); pad_id defaults to the file's padding id (0 when it has none).
        """
    def encode_pairs_csr(self, first: typing.Any, second: typing.Any, max_length: typing.SupportsInt | typing.SupportsIndex = 0, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        Text pairs (first[i], second[i]) joined by the post-processor's pair template, CSR: ids int64 (total,), type_ids int64 (total,), offsets int64 (n + 1,); each pair cut to max_length tokens (0: the file's truncation) by the file's strategy.
        """
    def token_to_id(self, token: str) -> int | None:
        """
        The id of a token of the vocabulary, or None.
        """
    @property
    def num_special_tokens(self) -> int:
        """
        Special tokens the post-processor adds to one sequence.
        """
    @property
    def num_special_tokens_pair(self) -> int:
        """
        Special tokens the post-processor adds to a pair.
        """
    @property
    def pad_token_id(self) -> int:
        """
        The file's padding id, or -1 when it has no padding section.
        """
    @property
    def truncation_max_length(self) -> int:
        """
        The file's truncation length (0 when the file has none).
        """
def available_cpus() -> int:
    """
    CPUs this process may run on (its affinity mask): what threads=0 means, and the cap on larger thread counts.
    """
def cpu_features() -> list[str]:
    """
    CPU features after FASTSBERT_CPU_FEATURES masking (ValueError for a bad value).
    """
def cpu_features_detected() -> list[str]:
    """
    CPU features as detected (cpuid + xgetbv), before masking.
    """
def hamming_search(queries: numpy.ndarray, corpus: numpy.ndarray, k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Exact Hamming top-k of packed uint8 bit vectors: (distances (q, k') int32, indices (q, k') int64), nearest first, ties to the lower index.
    """
def hamming_simd_level() -> str:
    """
    The level the Hamming kernel runs with now (scalar, avx2: VPSHUFB nibble counts, avx512: VPOPCNTDQ).
    """
def int8_is_fast() -> bool:
    """
    Whether the CPU (after masking) has VNNI or AMX, which make int8 inference fast.
    """
def onnxruntime_version() -> str:
    ...
def rescore(queries: numpy.ndarray, corpus: numpy.ndarray, candidates: numpy.ndarray, k: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Re-ranks candidate corpus rows (int64 (q, m)) by exact cosine similarity of the float vectors: (scores (q, k') float32, indices (q, k') int64), best first, ties to the lower index; only candidate rows are read.
    """
def static_simd_level() -> str:
    """
    The level static models' embedding-bag mean runs with now (honours FASTSBERT_SIMD).
    """
def static_simd_levels() -> list[str]:
    """
    Embedding-bag levels this build carries and this machine runs.
    """
def topk(queries: numpy.ndarray, corpus: typing.Any, k: typing.SupportsInt | typing.SupportsIndex, metric: str = 'cosine', threads: typing.SupportsInt | typing.SupportsIndex = 0, device: str = 'cpu') -> tuple:
    """
    Exact top-k: (scores (q, k') float32, indices (q, k') int64), best first. corpus=None searches queries against themselves without self pairs.
    """
def topk_communities(embeddings: numpy.ndarray, threshold: typing.SupportsFloat | typing.SupportsIndex, min_size: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Community detection: (offsets (c + 1,) int64, members int64), largest first.
    """
def topk_cuda_available() -> bool:
    ...
def topk_pairs(embeddings: numpy.ndarray, top_k: typing.SupportsInt | typing.SupportsIndex, max_pairs: typing.SupportsInt | typing.SupportsIndex, metric: str = 'cosine', threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Paraphrase mining: (scores (p,) float32, pairs (p, 2) int64 with i < j), best first.
    """
def topk_simd_level() -> str:
    """
    The SIMD level top-k runs with now: FASTSBERT_SIMD, else the fastest measured.
    """
def topk_simd_levels() -> list[str]:
    """
    SIMD levels this build carries and this machine runs.
    """
def topk_simd_rates() -> list[tuple[str, float]]:
    """
    (level, GFLOP/s on one thread) of the SIMD kernels the level was chosen from.
    """
def version() -> str:
    """
    fastsbert's version (pyproject.toml's), as compiled into the native core.
    """
