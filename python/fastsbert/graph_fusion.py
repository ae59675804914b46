"""Graph rewrites that let ONNX Runtime run one kernel where the exported graph has many.

Used by the int8 recipe (:mod:`fastsbert.quantize`). On a short-text batch the int8 weight
products take about a third of float32's time, so the float32 glue between them (bias
adds, head reshapes and transposes, the masked softmax) decides the int8 speedup. Two
rewrites remove most of that glue; neither changes what the graph computes:

* :func:`fuse_attention` (on the float graph, before quantization) replaces each
  self-attention core, from the projected Q, K and V to the merged heads, with one ONNX
  ``Attention`` node (opset 23). The exporter writes that core as 3 Reshapes, 4
  Transposes, 2 MatMuls, the scale, the mask Add and the Softmax; ONNX Runtime's CPU
  ``Attention`` kernel does it in one pass per head. The mask it adds is the graph's own
  additive mask tensor, so any mask the model builds (padding, causal, both) carries over.
* :func:`fold_quantized_bias` (on the QDQ graph, after quantization) writes each weight
  product as ``com.microsoft.MatMulIntegerToFloat`` with the following bias Add folded in
  as its bias input; ONNX Runtime's own QDQ fusion makes the same node without the bias
  and leaves the Add as one more pass over the activations.

Both rewrite only what matches exactly and leave everything else alone; the caller checks
the rewritten graph's outputs against the original's (:func:`same_outputs`).
"""

from __future__ import annotations

import numpy as np

from ._runtime import checking_session

ATTENTION_OPSET = 23
MS_DOMAIN = "com.microsoft"


# --------------------------------------------------------------------------- graph access


class _Graph:
    """Producer / consumer / constant lookups over one GraphProto."""

    def __init__(self, graph) -> None:
        self.graph = graph
        self.inits = {init.name: init for init in graph.initializer}
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.output}

    def const(self, name: str) -> np.ndarray | None:
        """The value of an initializer or a Constant node's output, through Identity nodes
        (the exporter writes equal weights once and the others as its Identity), else None."""
        from onnx import numpy_helper

        node = self.producer.get(name)
        while node is not None and node.op_type == "Identity":
            name = node.input[0]
            node = self.producer.get(name)
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        if node is not None and node.op_type == "Constant" and node.attribute:
            attr = node.attribute[0]
            if attr.name == "value":
                return numpy_helper.to_array(attr.t)
        return None

    def only_consumer(self, name: str, op_type: str):
        users = self.consumers.get(name, [])
        if len(users) == 1 and users[0].op_type == op_type and name not in self.outputs:
            return users[0]
        return None

    def made_by(self, name: str, op_type: str):
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None


def _attr(node, name: str, default=None):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _prune(model) -> None:
    """Drops nodes whose outputs nothing reads, then initializers nothing reads."""
    graph = model.graph
    while True:
        used = {name for node in graph.node for name in node.input}
        used |= {o.name for o in graph.output}
        keep = [n for n in graph.node if any(out in used for out in n.output)]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    used = {name for node in graph.node for name in node.input}
    keep_inits = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep_inits)


def _default_opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


# ------------------------------------------------------------------------------ attention


def _head_split(g: _Graph, transpose, perms) -> tuple[str, int] | None:
    """(input, head_size) when ``transpose`` (with one of ``perms``) reads a Reshape of a
    (batch, seq, hidden) tensor into (batch, seq, heads, head_size)."""
    if transpose is None or tuple(_attr(transpose, "perm", ())) not in perms:
        return None
    reshape = g.made_by(transpose.input[0], "Reshape")
    if reshape is None or len(g.consumers.get(reshape.output[0], [])) != 1:
        return None
    head = _last_dim(g, reshape.input[1])
    return (reshape.input[0], head) if head else None


def _last_dim(g: _Graph, shape_name: str) -> int | None:
    """The last entry of a Reshape's target shape when it is a known positive constant."""
    value = g.const(shape_name)
    if value is None:
        concat = g.made_by(shape_name, "Concat")
        if concat is None:
            return None
        value = g.const(concat.input[-1])
        if value is None:
            return None
    value = np.asarray(value).ravel()
    return int(value[-1]) if value.size and value[-1] > 0 else None


def _hidden_size(g: _Graph, name: str) -> int | None:
    """Width of a projection's output: the bias Add's 1-D constant, else the MatMul weight."""
    node = g.producer.get(name)
    if node is not None and node.op_type == "Add":
        for x in node.input:
            value = g.const(x)
            if value is not None and value.ndim == 1:
                return int(value.shape[0])
        node = next((g.producer.get(x) for x in node.input if g.producer.get(x) is not None), None)
    if node is not None and node.op_type == "MatMul":
        value = g.const(node.input[1])
        if value is not None and value.ndim == 2:
            return int(value.shape[1])
    return None


def _match_attention(g: _Graph, softmax):
    """The pieces of one attention core ending at ``softmax``, or None.

    softmax(scale * (Q Kᵀ) + mask) V over heads, as exporters write it:
    Q: Reshape -> Transpose(0,2,1,3); K: Reshape -> Transpose(0,2,3,1), or (0,2,1,3) then
    (0,1,3,2); the scale a Mul or Div by a constant after the product; then Add(mask),
    Softmax(last axis), MatMul with V (Reshape -> Transpose(0,2,1,3)), Transpose(0,2,1,3)
    and a Reshape back to (batch, seq, hidden)."""
    if _attr(softmax, "axis", -1) not in (-1, 3):
        return None
    add = g.made_by(softmax.input[0], "Add")
    if add is None or len(g.consumers.get(add.output[0], [])) != 1:
        return None
    for scaled_name, mask in ((add.input[0], add.input[1]), (add.input[1], add.input[0])):
        scaled = g.producer.get(scaled_name)
        if scaled is not None and scaled.op_type in ("Mul", "Div"):
            break
    else:
        return None
    factor = g.const(scaled.input[1])
    if factor is None or np.asarray(factor).size != 1:
        return None
    factor = float(np.asarray(factor).ravel()[0])
    if factor == 0.0:
        return None
    scale = factor if scaled.op_type == "Mul" else 1.0 / factor
    scores = g.made_by(scaled.input[0], "MatMul")
    if scores is None or len(g.consumers.get(scaled.input[0], [])) != 1:
        return None
    q = _head_split(g, g.producer.get(scores.input[0]), {(0, 2, 1, 3)})
    k_node = g.producer.get(scores.input[1])
    k = _head_split(g, k_node, {(0, 2, 3, 1)})
    if k is None and k_node is not None and k_node.op_type == "Transpose" \
            and tuple(_attr(k_node, "perm", ())) == (0, 1, 3, 2):
        k = _head_split(g, g.producer.get(k_node.input[0]), {(0, 2, 1, 3)})
    context = g.only_consumer(softmax.output[0], "MatMul")
    if q is None or k is None or context is None or context.input[0] != softmax.output[0]:
        return None
    v = _head_split(g, g.producer.get(context.input[1]), {(0, 2, 1, 3)})
    merge = g.only_consumer(context.output[0], "Transpose")
    if v is None or merge is None or tuple(_attr(merge, "perm", ())) != (0, 2, 1, 3):
        return None
    out = g.only_consumer(merge.output[0], "Reshape")
    if out is None:
        return None
    head = q[1]
    hidden = _hidden_size(g, q[0])
    if k[1] != head or v[1] != head or hidden is None or hidden % head:
        return None
    return {"q": q[0], "k": k[0], "v": v[0], "mask": mask, "scale": scale,
            "heads": hidden // head, "out": out.output[0], "name": softmax.name}


def fuse_attention(model) -> int:
    """Rewrites every matching self-attention core of ``model`` (a float ModelProto, in
    place) as one ONNX ``Attention`` node and returns how many it rewrote. The graph's
    default opset is raised to 23 when anything matches (onnx's version converter, which
    needs onnx >= 1.18); with nothing matched, or an older onnx, the model is untouched."""
    import onnx
    from onnx import helper, numpy_helper, version_converter

    if onnx.defs.onnx_opset_version() < ATTENTION_OPSET:
        return 0
    if not any(_match_attention(_Graph(model.graph), n)
               for n in model.graph.node if n.op_type == "Softmax"):
        return 0
    if _default_opset(model) < ATTENTION_OPSET:
        converted = version_converter.convert_version(model, ATTENTION_OPSET)
        model.CopyFrom(converted)
    g = _Graph(model.graph)
    cores = [c for n in list(model.graph.node) if n.op_type == "Softmax"
             for c in [_match_attention(g, n)] if c]
    if not cores:
        return 0

    # The Attention kernel wants the mask's query axis spelled out: (.., seq, keys), so
    # each core's mask goes through Expand(mask, [1, 1, seq, 1]); seq is read from Q.
    ones = "fastsbert_attention_one"
    starts, ends = "fastsbert_attention_axis1", "fastsbert_attention_axis2"
    model.graph.initializer.extend([
        numpy_helper.from_array(np.array([1], np.int64), ones),
        numpy_helper.from_array(np.array([1], np.int64), starts),
        numpy_helper.from_array(np.array([2], np.int64), ends),
    ])
    replacements: dict[str, list] = {}
    for i, c in enumerate(cores):
        p = f"fastsbert_attention_{i}"
        replacements[c["out"]] = [
            helper.make_node("Shape", [c["q"]], [f"{p}_q_shape"], name=f"{p}_shape"),
            helper.make_node("Slice", [f"{p}_q_shape", starts, ends], [f"{p}_seq"], name=f"{p}_seq"),
            helper.make_node("Concat", [ones, ones, f"{p}_seq", ones], [f"{p}_mask_shape"],
                             name=f"{p}_mask_shape", axis=0),
            helper.make_node("Expand", [c["mask"], f"{p}_mask_shape"], [f"{p}_mask"],
                             name=f"{p}_mask"),
            helper.make_node("Attention", [c["q"], c["k"], c["v"], f"{p}_mask"], [c["out"]],
                             name=f"{c['name']}/fastsbert_attention", q_num_heads=c["heads"],
                             kv_num_heads=c["heads"], scale=c["scale"]),
        ]
    nodes = []
    for node in model.graph.node:
        hit = next((out for out in node.output if out in replacements), None)
        nodes.extend(replacements.pop(hit) if hit else [node])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _prune(model)
    return len(cores)


# -------------------------------------------------------------------------- quantized bias


def fold_quantized_bias(model) -> int:
    """Rewrites each ``DequantizeLinear -> MatMul <- DequantizeLinear(int8 weight)`` of a
    QDQ ``model`` (in place) as ``MatMulIntegerToFloat``, with a following ``Add`` of a 1-D
    constant folded in as its bias. Returns the number of products rewritten."""
    from onnx import helper

    g = _Graph(model.graph)
    rewritten: dict[int, object] = {}
    folded_adds: set[int] = set()
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        a = g.made_by(node.input[0], "DequantizeLinear")
        b = g.made_by(node.input[1], "DequantizeLinear")
        if a is None or b is None or not _per_tensor(g, a) or not _per_column(g, b):
            continue
        inputs = [a.input[0], b.input[0], a.input[1], b.input[1],
                  a.input[2] if len(a.input) > 2 else "", b.input[2] if len(b.input) > 2 else ""]
        out = node.output[0]
        add = g.only_consumer(out, "Add")
        if add is not None:
            other = add.input[1] if add.input[0] == out else add.input[0]
            bias = g.const(other)
            width = g.const(b.input[0]).shape[1]
            if bias is not None and bias.shape == (width,) \
                    and bias.dtype == np.float32:
                inputs.append(other)
                out = add.output[0]
                folded_adds.add(id(add))
        rewritten[id(node)] = helper.make_node(
            "MatMulIntegerToFloat", inputs, [out], name=node.name, domain=MS_DOMAIN)
    if not rewritten:
        return 0
    nodes = [rewritten.get(id(n), n) for n in model.graph.node if id(n) not in folded_adds]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    _prune(model)
    return len(rewritten)


def _per_tensor(g: _Graph, dq) -> bool:
    """An activation's DequantizeLinear: one scale (and zero point) for the whole tensor."""
    scale = g.const(dq.input[1])
    return scale is not None and scale.size == 1 and dq.input[0] not in g.inits


def _per_column(g: _Graph, dq) -> bool:
    """A weight's DequantizeLinear: a 2-D 8-bit constant with one scale, or one per output
    column (axis 1), which is what MatMulIntegerToFloat's ``b_scale`` takes."""
    weight = g.const(dq.input[0])
    scale = g.const(dq.input[1])
    if weight is None or scale is None or weight.ndim != 2 or weight.dtype not in (np.int8, np.uint8):
        return False
    if scale.size == 1:
        return True
    return scale.ndim == 1 and scale.shape[0] == weight.shape[1] \
        and _attr(dq, "axis", 1) in (1, -1)


# --------------------------------------------------------------------------------- checks


def padded_batch(feeds: list[dict], rows: int = 8) -> dict:
    """One feed of up to ``rows`` single-row feeds of different lengths, right-padded with
    zeros (the pad id, a 0 attention mask, token type 0), to exercise the mask."""
    by_length = sorted(feeds, key=lambda f: f["input_ids"].shape[1])
    step = max(1, len(by_length) // rows)
    picked = by_length[::step][:rows]
    width = max(f["input_ids"].shape[1] for f in picked)
    batch = {}
    for name, value in picked[0].items():
        if value.ndim == 2 and value.shape[0] == 1:
            batch[name] = np.concatenate(
                [np.pad(f[name], ((0, 0), (0, width - f[name].shape[1]))) for f in picked])
        else:
            batch[name] = value
    return batch


def same_outputs(reference, candidate, feed: dict, tolerance: float = 1e-4) -> str | None:
    """None when two graphs (paths or ModelProtos) give the same outputs on ``feed`` to
    ``tolerance`` (relative to the reference's largest value), else what differs."""
    def run(model):
        return checking_session(model).run(None, feed)

    try:
        expected, got = run(reference), run(candidate)
    except Exception as e:  # noqa: BLE001 - any runtime refusal means "not the same"
        return f"ONNX Runtime cannot run the rewritten graph: {e}"
    for i, (x, y) in enumerate(zip(expected, got)):
        if x.shape != y.shape:
            return f"output {i}: shape {y.shape}, expected {x.shape}"
        limit = tolerance * max(1.0, float(np.abs(x).max()))
        worst = float(np.abs(x.astype(np.float64) - y).max())
        if worst > limit:
            return f"output {i}: largest difference {worst:.3g} (allowed {limit:.3g})"
    return None
