"""The metric registry: every quantity a training record carries, declared once.

In the spirit of the loss registry (:mod:`lossviz.losses.registry`): a :class:`MetricSpec` says
what a metric is called in the record (``key``), how the page names it (``label``, a msgid), its
unit, whether it is one number per batch or one per layer, which chart and group draw it, its
TensorBoard tag, its CSV column(s), how a long series is thinned for display, the range a valid
value lies in, and — for a metric the trainer computes through the registry — the hook that
computes it, the phase of the step it runs in and how often (``every``).

Everything downstream iterates the registry: the trainer computes what is registered, and
:class:`~lossviz.training.metrics_log.MetricsLog`, the CSV export, the TensorBoard writer, the
figures and the training page draw what is registered. Adding a per-layer metric is one
:func:`register_metric` call (see ``tests/test_toy_metric.py``).

Phases of a training step, in order, and what a hook's :class:`StepContext` holds then:

* ``"forward"``: forward hooks on the modules ``modules(name, module)`` selects capture their
  outputs (detached) into ``ctx.activations`` on the steps the metric is due; ``compute`` runs
  after the backward pass (e.g. the fraction of dead ReLU units).
* ``"after_backward"``: gradients are in ``p.grad``, the optimizer has not stepped (gradient
  statistics).
* ``"after_step"``: the optimizer has stepped; ``ctx.params`` are the new weights and, with
  ``needs_before=True``, ``ctx.before`` the weights before the step (so Δw = w_after − w_before is
  the optimizer's real update, momentum and Adam included).
* ``"core"``: written by the training loop itself (loss, gradient norm, accuracy, speed...).

A hook returns a tensor (or float) for a scalar metric, or a mapping ``{layer name: tensor or
float}`` for a per-layer one. Tensors stay on the device: the trainer copies every due metric to
the host in one transfer per step, and only on the steps a metric is due (``step % every == 0``).

Example:
    >>> spec = get_metric("layer_grad_norms")
    >>> spec.per_layer, spec.tb_tag, spec.csv_column("conv1 weight")
    (True, 'grad_norm', 'grad_norm[conv1 weight]')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg

Phase = Literal["core", "forward", "after_backward", "after_step"]
Decimation = Literal["minmax", "stride"]
RecordKind = Literal["batch", "eval"]
PHASES = ("core", "forward", "after_backward", "after_step")

#: Largest value a record's number may hold (beyond it a value is treated as missing: a 400-digit
#: integer or 1e400 in a tampered file never reaches arithmetic).
MAX_ABS = 1e300
#: Largest step or epoch a record may carry.
MAX_STEP = 10**12


class BatchRecord(TypedDict, total=False):
    """One line of metrics.jsonl per batch (docs/CONTRACTS.md). Registered metrics add their keys."""

    kind: Literal["batch"]
    step: int  #: optimizer updates done, counting this one (1, 2, ...)
    epoch: int  #: the epoch this batch belongs to (1-based)
    batch: int  #: the batch's index in its epoch (1-based)
    loss: float
    grad_norm: float  #: L2 norm of the whole gradient
    layer_grad_norms: dict[str, float]  #: {parameter name ("0.weight"): L2 norm of its gradient}
    lr: float
    batch_accuracy: float  #: share of the batch classified right, 0..1
    images_per_s: float
    time: float  #: seconds since training started


class EvalRecord(TypedDict, total=False):
    """One line of metrics.jsonl per evaluation on the test split."""

    kind: Literal["eval"]
    step: int
    epoch: int
    test_loss: float
    test_accuracy: float  #: 0..1
    n_test: int
    time: float


#: The record fields every record has (the axes), as opposed to metrics.
AXES = ("step", "epoch", "time")


@dataclass
class StepContext:
    """What a metric hook sees (see the module docstring for what each phase holds).

    ``names[i]`` is the name of ``params[i]`` ("0.weight", ...), in model order.
    """

    step: int
    model: Any  # the nn.Module being trained (unwrapped from DDP)
    names: list[str]
    params: list[Any]  # torch tensors (the live parameters: do not modify)
    loss: Any = None
    scores: Any = None
    target: Any = None
    optimizer: Any = None
    before: list[Any] | None = None  #: weights before the optimizer step ("after_step", needs_before)
    activations: dict[str, Any] = field(default_factory=dict)  #: module name -> output ("forward")

    @property
    def grads(self) -> list[Any]:
        return [p.grad for p in self.params]


Hook = Callable[[StepContext], Any]


@dataclass(frozen=True)
class MetricSpec:
    """One metric, declared once (see the module docstring).

    ``chart``: which chart draws it: ``"loss"``, ``"accuracy"``, ``"grad_norm"``, ``"layers"`` (the
    per-layer view, one entry of its switch per metric), ``"own"`` (a chart of its own), or None
    (kept in the record and the CSV, not drawn). ``group`` orders entries inside a chart.
    ``tb_tag``: the TensorBoard tag (``"train/loss"``), for a per-layer metric the prefix of
    ``"<prefix>/<layer label>"``; None: not written to TensorBoard. ``csv``: the CSV column, for
    a per-layer metric the prefix of ``"<prefix>[<layer label>]"`` (default: the key).
    ``lo``/``hi``: the valid range of a value (outside it, or not finite, it is read as missing).
    ``scale``: display factor (accuracy 0..1 is drawn in %). ``band``: a guide band drawn on the
    chart (e.g. the 1e-3 rule of thumb of the update ratio).
    """

    key: str
    label: str
    unit: str = ""
    per_layer: bool = False
    record: RecordKind = "batch"
    chart: str | None = None
    group: str = ""
    tb_tag: str | None = None
    csv: str | None = None
    decimate: Decimation = "minmax"
    log_scale: bool = False
    lo: float = -MAX_ABS
    hi: float = MAX_ABS
    integer: bool = False
    scale: float = 1.0
    band: tuple[float, float] | None = None
    doc: str = ""
    title: str = ""  #: the chart's title (msgid); default "{metric} per layer" / the label
    axis: str = ""  #: the value axis title (msgid); default the label
    phase: Phase = "core"
    compute: Hook | None = None
    every: int = 1
    needs_before: bool = False
    modules: Callable[[str, Any], bool] | None = None

    def __post_init__(self) -> None:
        if not self.key.isidentifier() or self.key in AXES or self.key == "kind":
            raise ValueError(f"metric key {self.key!r} must be an identifier and not an axis ({AXES})")
        if self.phase not in PHASES:
            raise ValueError(f"phase {self.phase!r}: use one of {PHASES}")
        if self.phase != "core" and self.compute is None:
            raise ValueError(f"metric {self.key!r}: phase {self.phase!r} needs a compute hook")
        if self.phase == "forward" and self.modules is None:
            raise ValueError(
                f"metric {self.key!r}: a forward metric says which modules to hook (modules=...)"
            )
        if self.needs_before and self.phase != "after_step":
            raise ValueError(f"metric {self.key!r}: needs_before applies to phase 'after_step' only")
        if self.every < 1:
            raise ValueError(f"metric {self.key!r}: every must be >= 1")

    @property
    def computed(self) -> bool:
        """True when the trainer computes it through :attr:`compute` (not the loop's own figures)."""
        return self.phase != "core"

    @property
    def dense(self) -> bool:
        """Present in every batch record (stored aligned with the steps), as opposed to every k-th."""
        return self.every == 1

    def csv_column(self, layer: str | None = None) -> str:
        base = self.csv or self.key
        return f"{base}[{layer}]" if self.per_layer else base

    def tag(self, layer: str | None = None) -> str | None:
        if self.tb_tag is None:
            return None
        return f"{self.tb_tag}/{layer}" if self.per_layer else self.tb_tag

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def clean(self, value: Any) -> float:
        """``value`` as a float if it is a number in range (a bool, text, 1e400, NaN or a 400-digit
        integer is not), else NaN. Integers are compared exactly before any conversion."""
        return clean_number(value, self.lo, self.hi, self.integer)


def clean_number(value: Any, lo: float = -MAX_ABS, hi: float = MAX_ABS, integer: bool = False) -> float:
    """A finite float within [lo, hi] from a JSON value, else NaN (never raises).

    Example:
        >>> clean_number(3), clean_number(10**400), clean_number("1"), clean_number(True)
        (3.0, nan, nan, nan)
    """
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int):
        if not lo <= value <= hi:  # exact comparison: no float conversion of a huge integer
            return math.nan
        return float(value)
    if isinstance(value, float):
        if integer and not value.is_integer():
            return math.nan
        return value if math.isfinite(value) and lo <= value <= hi else math.nan
    return math.nan


def clean_int(value: Any, lo: int = 0, hi: int = MAX_STEP) -> int | None:
    """A whole number within [lo, hi] (an int, or a float with no fraction), else None."""
    v = clean_number(value, lo, hi, integer=True)
    return None if math.isnan(v) else int(v)


_REGISTRY: dict[str, MetricSpec] = {}
_VERSION = [0]  # bumped on every change, so readers that cache the registry see new metrics


#: Words of a layer's name (``conv1 weight``) in the reader's language.
PARAM_KINDS = {"weight": N_("weight"), "bias": N_("bias")}


def layer_message(name: str, labels: Mapping[str, str] | None = None) -> Message | str:
    """A parameter's readable name as a message: ``labels[name]`` if given (``"conv1 weight"``), else
    ``"0.weight"`` -> ``"layer 0 weight"``; the kind of parameter (weight, bias) translated, the layer's
    code name (conv1, fc2) as it is. Charts and health alarms name layers through this one function.

    Example:
        >>> layer_message("fc2.weight", {"fc2.weight": "fc2 weight"}).render("en")
        'fc2 weight'
    """
    if labels and name in labels:
        layer, _, kind = labels[name].rpartition(" ")
        if layer and kind in PARAM_KINDS:
            return msg("{layer} {kind}", layer=layer, kind=Message(PARAM_KINDS[kind]))
        return labels[name]
    module, _, kind = name.rpartition(".")
    if not module:
        return name
    return msg("layer {layer} {kind}", layer=module, kind=Message(PARAM_KINDS[kind]) if kind in PARAM_KINDS else kind)


def registry_version() -> int:
    return _VERSION[0]


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add ``spec`` (a key may be registered once; :func:`unregister_metric` first to replace it)."""
    if spec.key in _REGISTRY:
        raise ValueError(f"metric {spec.key!r} is already registered")
    _REGISTRY[spec.key] = spec
    _VERSION[0] += 1
    return spec


def unregister_metric(key: str) -> None:
    """Remove a metric (tests register toys and remove them again)."""
    if _REGISTRY.pop(key, None) is not None:
        _VERSION[0] += 1


def list_metrics(
    *, record: RecordKind | None = None, per_layer: bool | None = None, chart: str | None = None
) -> list[MetricSpec]:
    """Registered metrics in registration order, optionally filtered."""
    return [
        s
        for s in _REGISTRY.values()
        if (record is None or s.record == record)
        and (per_layer is None or s.per_layer == per_layer)
        and (chart is None or s.chart == chart)
    ]


def get_metric(key: str) -> MetricSpec:
    """The spec of ``key``; LossvizInputError naming the registered keys otherwise."""
    spec = _REGISTRY.get(key)
    if spec is None:
        raise LossvizInputError(
            msg("metric {name!r} is unknown: choose one of {choices}", name=key, choices=", ".join(_REGISTRY))
        )
    return spec


# ----------------------------------------------------------------------------- the built-in metrics
# Written by the training loop itself (phase "core"): the loop needs the loss and the gradient
# norm before the optimizer steps (a non-finite value ends the run as "diverged").

register_metric(MetricSpec(
    "loss", N_("loss"), chart="loss", tb_tag="train/loss", doc=N_("the loss of the batch"),
))  # fmt: skip
register_metric(MetricSpec(
    "grad_norm", N_("gradient norm"), chart="grad_norm", tb_tag="train/grad_norm", log_scale=True, lo=0.0,
    doc=N_("length of the whole gradient (L2 over all parameters)"),
))  # fmt: skip
register_metric(MetricSpec(
    "layer_grad_norms", N_("gradient norm"), per_layer=True, chart="layers", group="0-grad", tb_tag="grad_norm",
    csv="grad_norm", log_scale=True, lo=0.0, doc=N_("length of each layer's gradient (log scale)"),
    title=N_("Gradient norm per layer"), axis=N_("‖gradient‖ (log scale)"),
))  # fmt: skip
register_metric(MetricSpec("lr", N_("learning rate"), csv="lr", lo=0.0, decimate="stride"))
register_metric(MetricSpec(
    "batch_accuracy", N_("accuracy"), unit="%", chart="accuracy", tb_tag="train/accuracy", lo=0.0, hi=1.0,
    scale=100.0, decimate="stride",
))  # fmt: skip
register_metric(
    MetricSpec("images_per_s", N_("images per second"), unit="images/s", lo=0.0, decimate="stride")
)
register_metric(MetricSpec(
    "test_loss", N_("test loss"), record="eval", chart="loss", tb_tag="eval/loss",
))  # fmt: skip
register_metric(MetricSpec(
    "test_accuracy", N_("test accuracy"), unit="%", record="eval", chart="accuracy", tb_tag="eval/accuracy",
    lo=0.0, hi=1.0, scale=100.0,
))  # fmt: skip
register_metric(MetricSpec("n_test", N_("test images"), record="eval", lo=0.0, integer=True))


# ----------------------------------------------------------------------------- computing them


class MetricPlan:
    """The registered metrics the trainer computes (``phase != "core"``), bound to one model.

    The trainer calls, each step: :meth:`begin` (before the forward pass: arms the forward hooks
    of the metrics due), :meth:`after_backward`, :meth:`before_step` (copies the weights when a
    due metric needs them), :meth:`after_step`, then :meth:`fields` for the record's new keys.
    On a step where nothing is due every call returns at once.

    Example:
        >>> plan = MetricPlan(model, names)  # doctest: +SKIP
        >>> plan.begin(step); ...; plan.after_backward(ctx); plan.before_step(ctx); opt.step(); plan.after_step(ctx)  # doctest: +SKIP
        >>> record.update(plan.fields())  # doctest: +SKIP
    """

    def __init__(self, model: Any, specs: list[MetricSpec] | None = None) -> None:
        self.specs = [s for s in (specs if specs is not None else list_metrics(record="batch")) if s.computed]
        self._due: list[MetricSpec] = []
        self._values: list[tuple[MetricSpec, Any]] = []
        self._capture: dict[str, dict[str, Any]] = {}
        self._armed: set[str] = set()
        self._handles = []
        self._modules: dict[str, list[str]] = {}
        for spec in self.specs:
            if spec.phase != "forward":
                continue
            store = self._capture.setdefault(spec.key, {})
            for name, module in model.named_modules():
                if name and spec.modules(name, module):  # type: ignore[misc]
                    self._modules.setdefault(spec.key, []).append(name)
                    self._handles.append(module.register_forward_hook(self._hook(spec.key, name, store)))
        # a forward metric with no module to watch (dead ReLU units in a network without ReLU) is not computed
        self.specs = [s for s in self.specs if s.phase != "forward" or self._modules.get(s.key)]
        self._before: list[Any] | None = None  # reused buffers for the weights before the step

    def _hook(self, key: str, name: str, store: dict[str, Any]) -> Callable[..., None]:
        armed = self._armed

        def hook(module: Any, inputs: Any, output: Any) -> None:
            if key in armed:
                store[name] = output.detach()

        return hook

    def __bool__(self) -> bool:
        return bool(self.specs)

    def begin(self, step: int) -> None:
        self._due = [s for s in self.specs if s.due(step)]
        self._values = []
        self._armed.clear()
        for s in self._due:
            if s.phase == "forward":
                self._armed.add(s.key)
                self._capture[s.key].clear()

    def _run(self, phase: str, ctx: StepContext) -> None:
        for s in self._due:
            if s.phase == phase:
                if phase == "forward":
                    ctx.activations = self._capture[s.key]
                self._values.append((s, s.compute(ctx)))  # type: ignore[misc]

    def after_backward(self, ctx: StepContext) -> None:
        if not self._due:
            return
        self._armed.clear()
        self._run("forward", ctx)
        ctx.activations = {}
        self._run("after_backward", ctx)

    def before_step(self, ctx: StepContext) -> None:
        if any(s.needs_before for s in self._due):
            import torch

            now = [p.detach() for p in ctx.params]
            if self._before is None or len(self._before) != len(now):
                self._before = [torch.empty_like(p) for p in now]
            torch._foreach_copy_(self._before, now)  # one fused copy into buffers kept between steps
            ctx.before = self._before

    def after_step(self, ctx: StepContext) -> None:
        if self._due:
            self._run("after_step", ctx)
        ctx.before = None

    def fields(self) -> dict[str, Any]:
        """The due metrics' values as record fields, copied to the host in one transfer."""
        if not self._values:
            return {}
        import torch

        flat: list[Any] = []
        layout: list[tuple[MetricSpec, list[str] | None, int]] = []
        for spec, value in self._values:
            if isinstance(value, Mapping):
                names = [str(k) for k in value]
                layout.append((spec, names, len(flat)))
                flat.extend(value.values())
            else:
                layout.append((spec, None, len(flat)))
                flat.append(value)
        host: list[float] = [math.nan] * len(flat)
        on_device = [i for i, v in enumerate(flat) if isinstance(v, torch.Tensor)]
        for i, v in enumerate(flat):
            if not isinstance(v, torch.Tensor):
                host[i] = clean_number(
                    float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                )
        if on_device:  # one transfer for every tensor of the step
            copied = torch.stack([flat[i].detach().reshape(()).float() for i in on_device]).tolist()
            for i, v in zip(on_device, copied, strict=True):
                host[i] = v
        out: dict[str, Any] = {}
        for spec, names, start in layout:
            if names is None:
                out[spec.key] = host[start]
            else:
                out[spec.key] = dict(zip(names, host[start : start + len(names)], strict=True))
        self._values = []
        return out

    def layers_of(self, spec: MetricSpec, names: list[str]) -> list[str]:
        """The layer names a per-layer metric of this plan reports: the hooked modules of a forward
        metric, else the parameter ``names``."""
        if spec.phase == "forward":
            return list(self._modules.get(spec.key, []))
        return list(names)

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def record_columns(names: list[str], plan: MetricPlan | None = None) -> list[tuple[str, str | None]]:
    """The columns of a run's column file: the kind and the axes, then every registered metric (a
    per-layer one once per layer: the parameter ``names``, or a forward metric's hooked modules)."""
    cols: list[tuple[str, str | None]] = [("kind", None), *((a, None) for a in AXES)]
    for spec in list_metrics():
        if spec.per_layer:
            layers = plan.layers_of(spec, names) if plan is not None and spec.computed else list(names)
            cols.extend((spec.key, layer) for layer in layers)
        else:
            cols.append((spec.key, None))
    return cols
