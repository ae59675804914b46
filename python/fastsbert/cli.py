"""The ``fastsbert`` command: export models, embed text files, and a quick demo."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .files import read_lines


def _cmd_export(args: argparse.Namespace) -> int:
    if args.cross_encoder:
        return _export_cross_encoder(args)
    from .exporter import export

    out = export(
        args.src,
        args.out,
        pooling=args.pooling,
        normalize=args.normalize,
        max_seq_length=args.max_seq_length,
        opset=args.opset,
        overwrite=args.overwrite,
        dtype=args.dtype,
        force=args.force,
        revision=args.revision,
        route=args.route,
    )
    print(f"exported {args.src} -> {out}")
    from .quantize import format_figures, read_variants

    for name, entry in read_variants(out).items():
        verdict = "passed" if entry.get("passed") else "FORCED" if entry.get("file") else "refused"
        print(f"{name} ({entry.get('file') or 'not kept'}): {format_figures(name, entry)}: {verdict}")
    return 0


def _export_cross_encoder(args: argparse.Namespace) -> int:
    from .cross_encoder_export import export_cross_encoder
    from .cross_encoder_quantize import format_figures
    from .quantize import read_variants

    if args.pooling is not None or args.normalize is not None:
        raise SystemExit("fastsbert export: --pooling and --normalize do not apply to a "
                         "cross-encoder")
    out = export_cross_encoder(args.src, args.out, max_length=args.max_seq_length,
                               opset=args.opset, overwrite=args.overwrite, dtype=args.dtype,
                               force=args.force, revision=args.revision)
    print(f"exported {args.src} -> {out}")
    for name, entry in read_variants(out).items():
        verdict = "passed" if entry.get("passed") else "FORCED" if entry.get("file") else "refused"
        print(f"{name} ({entry.get('file') or 'not kept'}): {format_figures(entry)}: {verdict}")
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    from .streaming import encode_file

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    r = encode_file(
        args.input, args.output, args.model, input_format=args.format, field=args.field,
        output_format=args.output_format, batch_size=args.batch_size, chunk_size=args.chunk_size,
        device=args.device, threads=args.threads, overwrite=args.overwrite,
        show_progress_bar=progress, dtype=args.dtype, prompt_name=args.prompt_name,
        prompt=args.prompt, truncate_dim=args.truncate_dim, revision=args.revision,
    )
    if r.skipped:
        print(f"{r.output}: already complete ({r.rows} x {r.dim}); nothing to do "
              "(pass --overwrite to recompute)")
    else:
        resumed = f", resumed after {r.resumed_rows} rows" if r.resumed_rows else ""
        print(f"wrote {r.rows} x {r.dim} embeddings to {r.output}{resumed}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .encoder import Encoder

    path = args.input or str(Path(__file__).resolve().parent / "data" / "sample.txt")
    texts = [t for t in read_lines(path) if t.strip()]
    t0 = time.perf_counter()
    enc = Encoder(args.model, threads=args.threads, dtype=args.dtype, revision=args.revision)
    load_s = time.perf_counter() - t0
    enc.encode(texts[:4])  # first call warms ONNX Runtime's allocator
    t0 = time.perf_counter()
    emb = enc.encode(texts, normalize=True)
    enc_s = time.perf_counter() - t0
    print(f"model: {enc.model_dir} (dim {enc.dim}, loaded in {load_s:.2f} s)")
    print(f"embedded {len(texts)} sentences in {enc_s * 1000:.1f} ms "
          f"({len(texts) / enc_s:.0f} sentences/s)\n")
    print(f"most similar pairs in {path}:")
    from .similarity import paraphrase_mining_embeddings

    for score, i, j in paraphrase_mining_embeddings(emb, top_k=args.top, max_pairs=args.top):
        print(f"  {score:.3f}  {texts[i]!r}\n         {texts[j]!r}")
    return 0


_DTYPE_HELP = ("model precision: float32 (fp32), int8 (CPU), float16 (fp16, CUDA) or auto "
               "(int8 on a CPU with VNNI/AMX, float16 on CUDA, float32 otherwise)")


def _add_revision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default=None,
                        help="branch, tag or commit of a Hub model (HF_TOKEN, HF_HUB_CACHE and "
                             "HF_HUB_OFFLINE apply as for transformers)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastsbert", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="export a sentence-transformers / HF model to ONNX")
    e.add_argument("src", help="sentence-transformers or Hugging Face model directory, or a "
                   "Hub id (a directory that exists wins)")
    e.add_argument("out", help="output directory")
    e.add_argument("--pooling", default=None,
                   help="pooling mode(s), joined with + (mean, cls, max, mean_sqrt_len_tokens, "
                        "weightedmean, lasttoken); required for a plain HF encoder")
    norm = e.add_mutually_exclusive_group()
    norm.add_argument("--normalize", dest="normalize", action="store_true", default=None,
                      help="L2-normalise the output in the graph")
    norm.add_argument("--no-normalize", dest="normalize", action="store_false")
    e.add_argument("--max-seq-length", type=int, default=None)
    e.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    e.add_argument("--dtype", default="float32", help=_DTYPE_HELP + " (export: also build that "
                   "variant, measure it against float32 and list it in fastsbert.json)")
    e.add_argument("--force", action="store_true",
                   help="keep a variant the accuracy guard refuses")
    e.add_argument("--route", default=None,
                   help="for a model with a Router: the task whose route is exported (query, "
                        "document, ...; default: the Router's default route)")
    e.add_argument("--cross-encoder", action="store_true",
                   help="SRC is a cross-encoder (sequence-classification model): the graph "
                        "scores text pairs (see fastsbert.CrossEncoder)")
    _add_revision(e)
    e.set_defaults(func=_cmd_export)

    c = sub.add_parser(
        "encode", help="embed a file (text lines, JSONL, CSV/TSV, Parquet) into .npy or Parquet",
        description="Embeds every text of INPUT; row i of OUTPUT is the i-th text. In a text "
                    "file each line is one text: \\n or \\r\\n end a line, any other character "
                    "(a lone \\r, U+2028, NUL) belongs to the text, a blank line is embedded as "
                    "the empty string, a final newline adds no row and a leading BOM is dropped. "
                    "Work goes in fixed chunks with a manifest beside OUTPUT: killed, the same "
                    "command continues after the last completed chunk (not for standard input). "
                    "OUTPUT appears under its name only when complete.")
    c.add_argument("input", help="input file, or - for standard input (streamed, not resumable)")
    c.add_argument("output", help="a .npy file, or a directory of Parquet shards")
    c.add_argument("--model", default=None,
                   help="model directory or Hub id (default all-MiniLM-L6-v2)")
    _add_revision(c)
    c.add_argument("--prompt-name", default=None,
                   help="put the model's prompt of this name before every text")
    c.add_argument("--prompt", default=None, help="put this text before every text")
    c.add_argument("--truncate-dim", type=int, default=None,
                   help="keep the first N dimensions (Matryoshka models)")
    c.add_argument("--format", default=None, choices=("text", "jsonl", "csv", "tsv", "parquet"),
                   help="input format (default: from the extension; text otherwise)")
    c.add_argument("--field", default=None,
                   help="JSON field or CSV/Parquet column holding the text (default: text)")
    c.add_argument("--output-format", default=None, choices=("npy", "parquet"),
                   help="default: npy for a .npy name, else Parquet shards")
    c.add_argument("--device", default="cpu")
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--dtype", default="float32", help=_DTYPE_HELP)
    c.add_argument("--chunk-size", type=int, default=8192,
                   help="rows per chunk, the unit of resumption (default 8192)")
    c.add_argument("--overwrite", action="store_true",
                   help="recompute and replace a finished OUTPUT or a mismatched partial job")
    prog = c.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="show a progress bar (default: when stderr is a terminal)")
    prog.add_argument("--no-progress", dest="progress", action="store_false")
    c.set_defaults(func=_cmd_encode)

    d = sub.add_parser("demo", help="embed the bundled sample and print the most similar pairs")
    d.add_argument("input", nargs="?", default=None, help="text file (default: bundled sample)")
    d.add_argument("--model", default=None, help="model directory or Hub id")
    _add_revision(d)
    d.add_argument("--threads", type=int, default=None)
    d.add_argument("--top", type=int, default=8, help="pairs to print")
    d.add_argument("--dtype", default="float32", help=_DTYPE_HELP)
    d.set_defaults(func=_cmd_demo)

    from . import serve

    serve.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError, TypeError, ImportError, RuntimeError) as e:
        print(f"fastsbert {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastsbert {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
