"""A sentence-transformers model directory read without torch: the module list and each
module's settings, as plain values.

What the torch-free road (:mod:`fastsbert.graft`) needs to rebuild the modules after the
Transformer: Pooling modes, Dense sizes / activation / weight file, Normalize, plus the
Transformer's ``max_seq_length`` and ``do_lower_case`` and the model's prompts. The files
are read by the same rules as ``fastsbert.training.models`` reads them with torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


MODULES_NAME = "modules.json"
MODEL_CONFIG_NAME = "config_sentence_transformers.json"
TRANSFORMER_CONFIG_NAMES = (
    "sentence_bert_config.json",
    # Names older releases gave the same file, tried in this order.
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
    "sentence_xlnet_config.json",
)
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
# The classic Pooling config stores one boolean per mode; modes read from them are
# concatenated in POOLING_MODES order.
LEGACY_MODE_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# sentence-transformers always offers these prompt names, empty unless configured.
DEFAULT_PROMPTS = {"query": "", "document": ""}
_DEFAULT_ACTIVATION = "torch.nn.modules.activation.Tanh"
_FEATURE = "sentence_embedding"


@dataclass(frozen=True)
class PoolingSpec:
    word_embedding_dimension: int
    modes: tuple[str, ...]
    include_prompt: bool
    config_file: Path

    @property
    def dim(self) -> int:
        return self.word_embedding_dimension * len(self.modes)


@dataclass(frozen=True)
class DenseSpec:
    in_features: int
    out_features: int
    bias: bool
    activation: str  # the class name ST's config gives, e.g. "torch.nn.modules.activation.Tanh"
    use_residual: bool
    folder: Path


@dataclass(frozen=True)
class NormalizeSpec:
    pass


@dataclass
class StDirectory:
    """What a sentence-transformers directory describes, after its Transformer."""

    root: Path
    max_seq_length: int | None
    do_lower_case: bool
    heads: list = field(default_factory=list)  # PoolingSpec, then DenseSpec / NormalizeSpec
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None

    @property
    def pooling(self) -> PoolingSpec:
        return next(h for h in self.heads if isinstance(h, PoolingSpec))

    @property
    def normalizes(self) -> bool:
        return bool(self.heads) and isinstance(self.heads[-1], NormalizeSpec)


def unsupported(message: str) -> Exception:
    """fastsbert.training's UnsupportedModelError (a ValueError) with ``message``; imported
    here, when a model is refused, so that the inference path never loads the package."""
    from .training.errors import UnsupportedModelError

    return UnsupportedModelError(message)


def read_json_object(path: Path, what: str) -> dict:
    """A JSON object from ``path``; errors name the file and what it should hold."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{path}: corrupt {what}: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: corrupt {what}: expected a JSON object")
    return value


def saved_prompts(src: Path) -> tuple[dict[str, str], str | None]:
    """The prompts and default prompt name saved in ``src/config_sentence_transformers.json``
    ({} and None when there is no such file). ValueError naming the file when they are
    malformed."""
    file = Path(src) / MODEL_CONFIG_NAME
    if not file.is_file():
        return {}, None
    settings = read_json_object(file, "sentence-transformers model config")
    prompts = settings.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise ValueError(f"{file}: prompts must be an object of name -> text")
    default = settings.get("default_prompt_name")
    if default is not None and not isinstance(default, str):
        raise ValueError(f"{file}: default_prompt_name must be a string, got {default!r}")
    return {str(k): str(v) for k, v in prompts.items()}, default


def _module_entries(root: Path) -> list[tuple[str, Path]]:
    """(class name, folder) of each entry of modules.json, in order."""
    file = root / MODULES_NAME
    try:
        entries = json.loads(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{file}: corrupt sentence-transformers module list: {e}") from None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{file}: corrupt module list: expected a non-empty JSON list of objects")
    try:
        entries = sorted(entries, key=lambda e: int(e.get("idx", 0)))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{file}: corrupt module list: {e}") from None
    return [(str(e.get("type", "")).rsplit(".", 1)[-1], root / str(e.get("path", "")))
            for e in entries]


def _pooling(folder: Path) -> PoolingSpec:
    file = folder / "config.json"
    cfg = read_json_object(file, "Pooling module config")
    dim = cfg.get("word_embedding_dimension", cfg.get("embedding_dimension"))
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"{file}: Pooling config lacks word_embedding_dimension")
    mode = cfg.get("pooling_mode")
    if mode is None:
        modes = tuple(m for key, m in LEGACY_MODE_KEYS.items() if cfg.get(key)) or ("mean",)
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
    bad = [m for m in modes if m not in POOLING_MODES]
    if bad or not modes:
        raise ValueError(f"{file}: unknown pooling mode {bad or modes!r}; expected {POOLING_MODES}")
    return PoolingSpec(dim, modes, bool(cfg.get("include_prompt", True)), file)


def _dense(folder: Path) -> DenseSpec:
    file = folder / "config.json"
    cfg = read_json_object(file, "Dense module config")
    for key in ("in_features", "out_features"):
        if not isinstance(cfg.get(key), int):
            raise ValueError(f"{file}: Dense config lacks {key!r}")
    for key in ("module_input_name", "module_output_name"):
        if cfg.get(key) not in (None, _FEATURE):
            raise unsupported(f"{folder}: Dense on {cfg[key]!r} is not supported, "
                                        f"only on {_FEATURE!r}")
    return DenseSpec(cfg["in_features"], cfg["out_features"], bool(cfg.get("bias", True)),
                     str(cfg.get("activation_function") or _DEFAULT_ACTIVATION),
                     bool(cfg.get("use_residual", False)), folder)


def _normalize(folder: Path) -> NormalizeSpec:
    file = folder / "config.json"
    cfg = read_json_object(file, "Normalize config") if file.is_file() else {}
    for key in ("module_input_name", "module_output_name"):
        if cfg.get(key) not in (None, _FEATURE):
            raise unsupported(f"{folder}: Normalize on {cfg[key]!r} is not supported")
    return NormalizeSpec()


def read_st_directory(root: Path) -> StDirectory:
    """The modules of the sentence-transformers directory ``root`` (which has modules.json),
    checked as fastsbert.training checks them. Raises UnsupportedModelError for a module
    other than Transformer -> Pooling -> Dense... -> Normalize, ValueError /
    FileNotFoundError naming the file at fault."""
    readers = {"Pooling": _pooling, "Dense": _dense, "Normalize": _normalize}
    entries = _module_entries(root)
    heads = []
    transformer_dir = None
    for i, (kind, folder) in enumerate(entries):
        if i == 0:
            if kind != "Transformer":
                raise unsupported(f"{root / MODULES_NAME}: module 0 is {kind!r}; a model "
                                            "must be one Transformer followed by Pooling, Dense "
                                            "and Normalize modules")
            transformer_dir = folder
            continue
        if kind not in readers:
            raise unsupported(f"{root / MODULES_NAME}: module {kind!r} is not supported "
                                        "(supported: Transformer, Pooling, Dense, Normalize)")
        if kind == "Dense" and not any(isinstance(h, PoolingSpec) for h in heads):
            raise unsupported(f"{root / MODULES_NAME}: Dense before Pooling is not supported")
        heads.append(readers[kind](folder))
    if sum(isinstance(h, PoolingSpec) for h in heads) != 1:
        raise unsupported(f"{root / MODULES_NAME}: "
                                    f"{sum(isinstance(h, PoolingSpec) for h in heads)} Pooling "
                                    "modules; exactly one is supported")
    transformer_cfg: dict = {}
    for name in TRANSFORMER_CONFIG_NAMES:
        if (transformer_dir / name).is_file():
            transformer_cfg = read_json_object(transformer_dir / name, "Transformer module config")
            break
    task = transformer_cfg.get("transformer_task", "feature-extraction")
    if task != "feature-extraction":
        raise unsupported(f"{transformer_dir}: Transformer task {task!r} is not "
                                    "supported, only 'feature-extraction'")
    seq = transformer_cfg.get("max_seq_length")
    prompts, default_prompt_name = saved_prompts(root)
    return StDirectory(
        root=root,
        max_seq_length=int(seq) if seq is not None else None,
        do_lower_case=bool(transformer_cfg.get("do_lower_case", False)),
        heads=heads,
        prompts={**DEFAULT_PROMPTS, **prompts},
        default_prompt_name=default_prompt_name,
    )
