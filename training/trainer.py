"""The training loop behind ``SentenceEncoder.fit``."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, default_collate

from .checkpoint import (
    capture_rng,
    list_checkpoints,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)

logger = logging.getLogger(__name__)

_NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight", "layer_norm.weight", "layer_norm.bias")


def schedule_factor(name: str, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier per optimizer step for ``LambdaLR``."""
    name = name.lower()
    if name == "constantlr":
        return lambda s: 1.0
    if name == "warmupconstant":
        return lambda s: min(1.0, s / max(1, warmup_steps))
    if name == "warmuplinear":
        return lambda s: (
            s / max(1, warmup_steps)
            if s < warmup_steps
            else max(0.0, (total_steps - s) / max(1, total_steps - warmup_steps))
        )
    if name == "warmupcosine":

        def cosine(s: int) -> float:
            if s < warmup_steps:
                return s / max(1, warmup_steps)
            progress = (s - warmup_steps) / max(1, total_steps - warmup_steps)
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

        return cosine
    raise ValueError(
        f"unknown scheduler {name!r}; use WarmupLinear, WarmupConstant, WarmupCosine or ConstantLR"
    )


def _amp_dtype(use_amp, device: torch.device) -> torch.dtype | None:
    if not use_amp:
        return None
    if device.type != "cuda":
        raise ValueError("use_amp needs the model on a CUDA device; train in float32 on the CPU")
    if use_amp == "fp16":
        return torch.float16
    if use_amp in (True, "bf16"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    raise ValueError(f"use_amp must be False, True, 'bf16' or 'fp16', got {use_amp!r}")


def _move(obj, device):
    """Tensors (also inside dicts and lists) moved to ``device``; texts and the rest unchanged."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and obj and not isinstance(obj[0], str):
        return type(obj)(_move(v, device) for v in obj)
    return obj


def _to_device(features, labels, device):
    # Sentence encoders collate tokenised columns (dicts of tensors, plus a Router's task
    # name, which stays as it is); cross-encoders collate the text columns themselves,
    # since their losses pair texts inside the batch.
    return _move(list(features), device), _move(labels, device)


def _describe(loss: nn.Module) -> str:
    shape = getattr(loss, "data_shape", None)
    return f"{type(loss).__name__}" + (f" (expects {shape})" if shape else "")


class _Objectives:
    """Round-robin access to the objectives' data, with the bookkeeping that lets a resumed
    run recreate every data iterator at the same position."""

    def __init__(self, loaders: Sequence) -> None:
        self.loaders = loaders
        self.iters = [None] * len(loaders)
        self.start_rng = [None] * len(loaders)
        self.drawn = [0] * len(loaders)

    def restart(self, k: int) -> None:
        self.start_rng[k] = capture_rng()
        self.iters[k] = iter(self.loaders[k])
        self.drawn[k] = 0

    def next(self, k: int):
        if self.iters[k] is None:
            self.restart(k)
        try:
            batch = next(self.iters[k])
        except StopIteration:
            self.restart(k)
            batch = next(self.iters[k])
        self.drawn[k] += 1
        return batch

    def state(self) -> dict:
        return {"start_rng": list(self.start_rng), "drawn": list(self.drawn)}

    def resume(self, state: dict) -> None:
        for k, (rng, drawn) in enumerate(zip(state["start_rng"], state["drawn"])):
            if rng is None:
                continue
            restore_rng(rng)
            self.start_rng[k] = rng
            self.iters[k] = iter(self.loaders[k])
            for _ in range(drawn):
                next(self.iters[k])
            self.drawn[k] = drawn


def fit(
    model: nn.Module,
    train_objectives: Sequence[tuple[DataLoader, nn.Module]],
    evaluator=None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    scheduler: str = "WarmupLinear",
    warmup_steps: int = 10000,
    optimizer_class: type[torch.optim.Optimizer] = torch.optim.AdamW,
    optimizer_params: dict | None = None,
    weight_decay: float = 0.01,
    evaluation_steps: int = 0,
    output_path: str | os.PathLike | None = None,
    save_best_model: bool = True,
    max_grad_norm: float = 1,
    use_amp: bool | str = False,
    callback: Callable[[float, int, int], None] | None = None,
    show_progress_bar: bool = True,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_save_steps: int = 500,
    checkpoint_save_total_limit: int = 0,
    resume_from_checkpoint: bool = True,
    gradient_accumulation_steps: int = 1,
    seed: int | None = None,
) -> dict:
    """Trains ``model`` on ``[(DataLoader, loss), ...]``.

    Each optimizer step consumes ``gradient_accumulation_steps`` batches, taken from the
    objectives in turn (round robin). An epoch is ``steps_per_epoch`` optimizer steps, by
    default as many as the smallest DataLoader gives each objective. AdamW (weight decay
    off for biases and LayerNorm) with a linear warmup over ``warmup_steps`` and a linear
    decay to zero; gradients clipped to ``max_grad_norm``.

    ``use_amp`` (CUDA only): True or ``"bf16"`` (bf16 where supported, else fp16) or
    ``"fp16"`` (with loss scaling). ``seed`` seeds torch, Python and NumPy first, which
    makes CPU runs repeatable. With ``checkpoint_path``, a checkpoint is written every
    ``checkpoint_save_steps`` optimizer steps and, when ``resume_from_checkpoint``, a run
    started again continues from the newest one with the same result as if it had not
    stopped. Checkpoints hold safetensors and JSON only, so resuming runs no code from
    the checkpoint folder; one in the older pickled format is refused with a
    ``ValueError`` (see :mod:`.checkpoint`). ``evaluator(model, output_path, epoch,
    steps)`` runs every ``evaluation_steps`` steps and after each epoch; with
    ``save_best_model`` the best model (by ``evaluator.primary_metric``) is saved to
    ``output_path``, otherwise the final model is.

    A non-finite loss or gradient stops training with ``FloatingPointError``.

    Returns ``{"global_step", "training_loss", "evaluations"}``.
    """
    objectives = list(train_objectives)
    if not objectives:
        raise ValueError("fit needs at least one (DataLoader, loss) train objective")
    if gradient_accumulation_steps < 1:
        raise ValueError("gradient_accumulation_steps must be at least 1")
    loaders, losses = [], []
    for k, pair in enumerate(objectives):
        if not (
            isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[1], nn.Module)
        ):
            raise TypeError(f"train objective {k} must be a (DataLoader, loss module) pair")
        loader, loss = pair
        try:
            n = len(loader)
        except TypeError:
            raise TypeError(f"train objective {k}: the DataLoader must have a length") from None
        if n == 0:
            raise ValueError(
                f"train objective {k}: the data is empty (0 batches) for {_describe(loss)}"
            )
        if getattr(loader, "collate_fn", None) in (None, default_collate):
            loader.collate_fn = model.collate
        loaders.append(loader)
        losses.append(loss)

    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    device = model.device
    amp_dtype = _amp_dtype(use_amp, device)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    for loss in losses:
        loss.to(device)

    # One optimizer over the unique parameters of the model and every loss.
    container = nn.ModuleList([model, *losses])
    decay, no_decay, seen = [], [], set()
    for name, p in container.named_parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        (no_decay if any(nd in name for nd in _NO_DECAY) else decay).append(p)
    params = decay + no_decay
    optimizer = optimizer_class(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        **(optimizer_params or {"lr": 2e-5}),
    )

    n_obj = len(loaders)
    if steps_per_epoch is None or steps_per_epoch <= 0:
        steps_per_epoch = max(
            1, min(len(dl) for dl in loaders) * n_obj // gradient_accumulation_steps
        )
    total_steps = steps_per_epoch * epochs
    lr_schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, schedule_factor(scheduler, warmup_steps, total_steps)
    )

    data = _Objectives(loaders)
    start_epoch, start_step, global_step = 0, 0, 0
    best_score, evaluations, loss_sum, loss_count = None, [], 0.0, 0
    found = list_checkpoints(checkpoint_path) if checkpoint_path is not None else []
    if resume_from_checkpoint and found:
        folder = found[-1][1]
        state = load_checkpoint(folder)
        try:
            container.load_state_dict(state["modules"])
            optimizer.load_state_dict(state["optimizer"])
            lr_schedule.load_state_dict(state["scheduler"])
            if scaler is not None and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            start_epoch, start_step, global_step = (
                state["epoch"],
                state["step_in_epoch"],
                state["global_step"],
            )
            best_score, evaluations = state["best_score"], state["evaluations"]
            loss_sum, loss_count = state["loss_sum"], state["loss_count"]
            if start_step < steps_per_epoch:
                data.resume(state["data"])
            restore_rng(state["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"{folder}: cannot resume from this checkpoint ({type(exc).__name__}: {exc})"
            ) from exc
        logger.info("resumed from checkpoint at step %d", global_step)

    def evaluate(epoch: int, steps: int) -> None:
        nonlocal best_score
        if evaluator is None:
            return
        scores = evaluator(model, output_path=output_path, epoch=epoch, steps=steps)
        metric = getattr(evaluator, "primary_metric", None)
        score = scores[metric] if metric in scores else next(iter(scores.values()))
        evaluations.append({"epoch": epoch, "steps": steps, **scores})
        if callback is not None:
            callback(score, epoch, steps)
        if best_score is None or score > best_score:
            best_score = score
            if save_best_model and output_path is not None:
                model.save(output_path)
        model.train()

    progress = None
    if show_progress_bar:
        from tqdm.auto import tqdm

        progress = tqdm(total=total_steps, initial=global_step, desc="Training", unit="step")
    running = None
    model.train()
    for loss in losses:
        loss.train()
    try:
        for epoch in range(start_epoch, epochs):
            first = start_step if epoch == start_epoch else 0
            if first == 0:  # a resumed mid-epoch run has its iterators back already
                for k in range(n_obj):
                    data.restart(k)
            for step in range(first, steps_per_epoch):
                step_loss = 0.0
                for micro in range(gradient_accumulation_steps):
                    k = (step * gradient_accumulation_steps + micro) % n_obj
                    features, labels = _to_device(*data.next(k), device)
                    with (
                        torch.autocast(device_type=device.type, dtype=amp_dtype)
                        if amp_dtype is not None
                        else contextlib.nullcontext()
                    ):
                        value = losses[k](features, labels)
                    if not torch.isfinite(value.detach()).all():
                        raise FloatingPointError(
                            f"{type(losses[k]).__name__} returned {value.detach().float().item()} at epoch {epoch}, step {step}; "
                            "training stopped (check the labels and the learning rate)"
                        )
                    value = value / gradient_accumulation_steps
                    (scaler.scale(value) if scaler is not None else value).backward()
                    step_loss += value.detach().float().item()
                if scaler is not None:
                    scaler.unscale_(optimizer)
                norm = torch.nn.utils.clip_grad_norm_(
                    params, max_grad_norm if max_grad_norm and max_grad_norm > 0 else float("inf")
                )
                if scaler is not None:
                    scaler.step(optimizer)  # skips the step when fp16 gradients overflowed
                    scaler.update()
                else:
                    if not torch.isfinite(norm):
                        raise FloatingPointError(
                            f"non-finite gradient norm at epoch {epoch}, step {step}; training stopped"
                        )
                    optimizer.step()
                lr_schedule.step()
                optimizer.zero_grad(set_to_none=True)
                global_step += 1
                loss_sum += step_loss
                loss_count += 1
                running = step_loss if running is None else 0.98 * running + 0.02 * step_loss
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(loss=f"{running:.4f}", epoch=epoch)
                if evaluation_steps > 0 and (step + 1) % evaluation_steps == 0:
                    evaluate(epoch, step + 1)
                if (
                    checkpoint_path is not None
                    and checkpoint_save_steps > 0
                    and global_step % checkpoint_save_steps == 0
                ):
                    save_checkpoint(
                        checkpoint_path,
                        global_step,
                        {
                            "modules": container.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "scheduler": lr_schedule.state_dict(),
                            "scaler": scaler.state_dict() if scaler is not None else None,
                            "epoch": epoch,
                            "step_in_epoch": step + 1,
                            "global_step": global_step,
                            "best_score": best_score,
                            "evaluations": evaluations,
                            "loss_sum": loss_sum,
                            "loss_count": loss_count,
                            "data": data.state(),
                            "rng": capture_rng(),
                        },
                        keep=checkpoint_save_total_limit,
                    )
            evaluate(epoch, -1)
    finally:
        if progress is not None:
            progress.close()
    if output_path is not None and (evaluator is None or not save_best_model):
        model.save(output_path)
    model.eval()
    return {
        "global_step": global_step,
        "training_loss": loss_sum / max(1, loss_count),
        "evaluations": evaluations,
    }
