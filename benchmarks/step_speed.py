"""What makes one LFD-TCMEN training step faster on this CPU: a table of per-step times.

    .venv/bin/python benchmarks/step_speed.py                 # eager, channels-last, bf16, 5 seeds vmapped
    .venv/bin/python benchmarks/step_speed.py --compile       # also torch.compile (slow to start)
    .venv/bin/python benchmarks/step_speed.py --regimes       # eager step by input regime and DRL size
    .venv/bin/python benchmarks/step_speed.py --batches       # samples/s by batch size (work per step)
    .venv/bin/python benchmarks/step_speed.py --profile       # where the channels-last step's time goes
    .venv/bin/python benchmarks/step_speed.py --variants      # the flagship's candidates: DRL cost, backbones

One training step (forward, the six-term loss, backward, Adam) of lfd_tcmen on a composite-shaped
batch (apex face 64x64, one 3x28x28 flow, 55 training subjects, batch 32) at one thread, the
way a fold trains. Rows:
- eager: the default layout, float32;
- channels_last: weights and activations channels-last (``train.channels_last``); same maths,
  other kernels (float rounding differs);
- bf16 autocast: forward under ``torch.autocast("cpu", torch.bfloat16)`` (changes the numbers);
- channels_last + bf16;
- torch.compile (``--compile``): inductor over the forward pass and the loss as one graph, after
  its warm-up steps (the warm-up time is printed; a fold would pay it for every new model unless
  the compiled graph is reused), default layout and channels-last;
- vmap S seeds: S copies of the model stacked (``torch.func.stack_module_state``) and trained as
  one batched step (``torch.func.vmap`` over parameters and batches): the time per seed-step.
  Under vmap the identity loss is computed without its "no known subject" branch (every
  subject here is known, so the value is the same).
Speed-up = eager's time / the row's time per seed-step. The best of ``--repeats`` timings of
``--steps`` steps is kept (a busy machine slows the mean, not the best). Not part of the tests.

``--regimes`` prints instead the eager step for both input regimes (composite: apex face and one
flow; full clips: onset, apex and offset faces and four flow segments) with the DRL at 32x32
(``face_resolution`` 32, the default) and at the faces' 64x64, and the parameter count.

``--batches`` prints instead samples per second against the batch size, default layout and
channels-last: how much more work per step buys on this CPU. Five seeds stacked into one model
(grouped convolutions, or vmap) do the arithmetic of one batch of 5 x 32 in each step, so the
batch-160 row's ratio to batch 32 is what such stacking could gain at best if its kernels were as
fast as the dense ones (a guide, not a proof: grouped kernels are usually slower).

``--variants`` prints instead the channels-last step of each candidate of the flagship (issue 33):
the DRL made cheaper (faces at 16x16, the decoder's terms every 4th step, both) and each TCME
backbone with and without the DRL, beside the model without the DRL. Variants take turns within
each repeat (a load that changes during the run slows all of them alike), and the time of a step
is averaged over a multiple of 4 steps, so ``drl_every`` 4 pays its drawing steps.

``--profile`` prints instead where the time of the channels-last step (the path the composite
configs train) goes, from ``torch.profiler`` over ``--steps`` steps: self time per step by kind of
operator (convolution forward and backward, GroupNorm, GELU, resampling, optimiser, the rest) and
the ``--top`` most expensive operator calls with their input shapes. It shows whether any one
kernel is worth replacing.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from lfd_tcmen.models import ModelSpec, create_model, losses
from lfd_tcmen.models.init import initialise

SPEC = ModelSpec(3, 55, ("apex",), ("onset:apex",), 64, 28)
REGIMES = {
    "composite (F=1, K=1)": SPEC,
    "full (F=3, K=4)": ModelSpec(
        3, 55, ("onset", "apex", "offset"), ("onset:apex", "onset:mid", "mid:apex", "apex:offset"), 64, 28
    ),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seeds", type=int, default=5, help="models stacked in the vmap row")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="add the torch.compile row")
    p.add_argument("--regimes", action="store_true", help="eager steps by input regime and DRL size instead")
    p.add_argument("--batches", action="store_true", help="samples/s by batch size instead")
    p.add_argument("--profile", action="store_true", help="where the channels-last step's time goes instead")
    p.add_argument("--variants", action="store_true", help="the flagship candidates' steps instead")
    p.add_argument("--top", type=int, default=12, help="operator calls listed by --profile")
    return p.parse_args()


def batch(b: int, seed: int, spec: ModelSpec = SPEC) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s, r = spec.face_size, spec.flow_size
    return {
        "faces": torch.rand(b, spec.num_frames, s, s, generator=g),
        "flows": torch.randn(b, spec.num_segments, 3, r, r, generator=g),
        "labels": torch.randint(0, 3, (b,), generator=g),
        "subjects": torch.randint(0, spec.num_subjects, (b,), generator=g),
    }


def model(
    seed: int, channels_last: bool = False, spec: ModelSpec = SPEC, **params: object
) -> torch.nn.Module:
    m = create_model("lfd_tcmen", spec, **params)
    initialise(m, seed)
    return m.to(memory_format=torch.channels_last) if channels_last else m


def single_step(
    channels_last: bool, bf16: bool, compiled: bool, b: int, spec: ModelSpec = SPEC, **params: object
) -> Callable[[], None]:
    m = model(0, channels_last, spec, **params)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    data = batch(b, 0, spec)

    def objective(faces: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = m(faces, flows)
        return m.loss(out, data)[0]

    total_loss = torch.compile(objective) if compiled else objective  # forward and loss as one graph

    def step() -> None:
        opt.zero_grad()
        total_loss(data["faces"], data["flows"]).backward()
        opt.step()

    return step


def vmap_step(seeds: int, b: int) -> Callable[[], None]:
    models = [model(k) for k in range(seeds)]
    params, buffers = stack_module_state(models)
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")
    opt = torch.optim.Adam(params.values(), lr=1e-3)
    data = [batch(b, k) for k in range(seeds)]
    stacked = {key: torch.stack([d[key] for d in data]) for key in data[0]}

    def one(p, bufs, faces, flows, labels, subjects):  # type: ignore[no-untyped-def]
        out = functional_call(base, (p, bufs), (faces, flows))
        terms = {}
        for term in base.active_terms:
            if term == "identity":  # every subject is known: cross-entropy without the branch
                terms[term] = F.cross_entropy(out["identity_logits"], subjects)
            else:
                terms[term] = getattr(base, f"_loss_{term}")(out, {"labels": labels, "subjects": subjects})
        return losses.total_loss(terms, base.loss_weights())

    batched = vmap(one, randomness="different")

    def step() -> None:
        opt.zero_grad()
        total = batched(
            params, buffers, stacked["faces"], stacked["flows"], stacked["labels"], stacked["subjects"]
        )
        total.sum().backward()
        opt.step()

    return step


def best_time(step: Callable[[], None], steps: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def warm_best_time(step: Callable[[], None], args: argparse.Namespace) -> float:
    """``best_time`` after three warm-up steps."""
    for _ in range(3):
        step()
    return best_time(step, args.steps, args.repeats)


def regimes(args: argparse.Namespace) -> None:
    print(f"lfd_tcmen, eager float32, batch of {args.batch}, one thread, {torch.__version__}\n")
    print("| regime | DRL face_resolution | parameters | ms per step |")
    print("|---|---|---|---|")
    for name, spec in REGIMES.items():
        for resolution in (32, 0):
            step = single_step(False, False, False, args.batch, spec, face_resolution=resolution)
            seconds = warm_best_time(step, args)
            size = model(0, spec=spec, face_resolution=resolution).num_parameters()
            print(f"| {name} | {resolution or spec.face_size} | {size:,} | {seconds * 1000:.1f} |")


def cpu_name() -> str:
    """The CPU's model name (timings differ between the machines this project has run on)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def batches(args: argparse.Namespace) -> None:
    sizes = (args.batch, 2 * args.batch, 3 * args.batch, args.seeds * args.batch)
    print(f"lfd_tcmen, composite-shaped batches, one thread, {torch.__version__}, {cpu_name()}\n")
    print(f"| batch | layout | ms per step | samples/s | samples/s vs batch {args.batch} |")
    print("|---|---|---|---|---|")
    for channels_last in (False, True):
        base = 0.0
        for b in sorted(set(sizes)):
            rate = b / warm_best_time(single_step(channels_last, False, False, b), args)
            base = base or rate
            layout = "channels_last" if channels_last else "default"
            print(f"| {b} | {layout} | {b / rate * 1000:.1f} | {rate:.0f} | {rate / base:.2f} |", flush=True)


VARIANTS: dict[str, dict[str, object]] = {  # name -> model.params
    "lfd_tcmen (DRL at 32x32, every step)": {},
    "no_drl": {"use_drl": False},
    "DRL at 16x16": {"face_resolution": 16},
    "decoder terms every 4th step": {"drl_every": 4},
    "DRL at 16x16, decoder every 4th step": {"face_resolution": 16, "drl_every": 4},
    "backbone off_apexnet, no_drl": {"backbone": "off_apexnet", "use_drl": False},
    "backbone off_apexnet": {"backbone": "off_apexnet"},
    "backbone off_apexnet, cheap DRL (16x16, every 4th)": {
        "backbone": "off_apexnet",
        "face_resolution": 16,
        "drl_every": 4,
    },
    "backbone ststnet, no_drl": {"backbone": "ststnet", "use_drl": False},
    "backbone ststnet, cheap DRL (16x16, every 4th)": {
        "backbone": "ststnet",
        "face_resolution": 16,
        "drl_every": 4,
    },
    "backbone resnet, no_drl": {"backbone": "resnet", "use_drl": False},
    "backbone resnet, cheap DRL (16x16, every 4th)": {
        "backbone": "resnet",
        "face_resolution": 16,
        "drl_every": 4,
    },
}


def variants(args: argparse.Namespace) -> None:
    steps = max(4, args.steps // 4 * 4)
    runners = {
        name: single_step(True, False, False, args.batch, **params) for name, params in VARIANTS.items()
    }
    best = dict.fromkeys(runners, float("inf"))
    for step in runners.values():
        for _ in range(4):  # warm-up
            step()
    for _ in range(args.repeats):
        for name, step in runners.items():
            best[name] = min(best[name], best_time(step, steps, 1))
    reference = best["no_drl"]
    print(
        f"lfd_tcmen variants, channels-last step, batch of {args.batch}, one thread, {torch.__version__}, {cpu_name()}"
    )
    print(f"best of {args.repeats} timings of {steps} steps each\n")
    print("| variant | parameters | ms per step | x no_drl |")
    print("|---|---|---|---|")
    for name, params in VARIANTS.items():
        size = model(0, **params).num_parameters()
        print(f"| {name} | {size:,} | {best[name] * 1000:.1f} | {best[name] / reference:.2f} |")


KINDS = (  # (kind, operator-name prefixes) for --profile; first match wins
    ("convolution backward", ("aten::convolution_backward",)),
    ("convolution forward", ("aten::mkldnn_convolution", "aten::_convolution", "aten::convolution")),
    ("GroupNorm", ("aten::native_group_norm",)),
    ("GELU", ("aten::gelu",)),
    ("resampling and pooling", ("aten::upsample", "aten::_adaptive_avg_pool", "aten::avg_pool")),
    ("matrix products", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("optimiser", ("Optimizer.", "aten::_foreach", "aten::addcdiv", "aten::lerp", "aten::sqrt")),
)


def kind_of(name: str) -> str:
    return next((kind for kind, prefixes in KINDS if name.startswith(prefixes)), "everything else")


def profile(args: argparse.Namespace) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    step = single_step(True, False, False, args.batch)
    for _ in range(3):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(args.steps):
            step()
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)  # microseconds over all steps
    per_step = 1000.0 * args.steps  # microseconds -> ms per step
    by_kind: dict[str, float] = defaultdict(float)
    for e in events:
        by_kind[kind_of(e.key)] += e.self_cpu_time_total
    print(
        f"lfd_tcmen, channels-last step, batch of {args.batch}, one thread, {torch.__version__}, {cpu_name()}"
    )
    print(f"profiled over {args.steps} steps: {total / per_step:.1f} ms of operator self time per step\n")
    print("| kind of operator | ms per step | share |")
    print("|---|---|---|")
    for kind, t in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {t / per_step:.2f} | {t / total:.0%} |")
    print(f"\nthe {args.top} most expensive operator calls (self time; calls per step; input shapes)\n")
    print("| operator | input shapes | calls per step | ms per step | share |")
    print("|---|---|---|---|---|")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        shapes = ", ".join(str(list(x)) for x in e.input_shapes if x)
        calls = e.count / args.steps
        print(
            f"| {e.key} | {shapes} | {calls:g} | {e.self_cpu_time_total / per_step:.2f} | {e.self_cpu_time_total / total:.0%} |"
        )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    if args.regimes:
        regimes(args)
        return
    if args.batches:
        batches(args)
        return
    if args.profile:
        profile(args)
        return
    if args.variants:
        variants(args)
        return
    rows: list[tuple[str, int, float, str]] = []  # name, seeds per step, seconds per step, note
    cases = [
        ("eager", False, False, False),
        ("channels_last", True, False, False),
        ("bf16 autocast", False, True, False),
        ("channels_last + bf16", True, True, False),
    ]
    if args.compile:
        cases += [("torch.compile", False, False, True), ("channels_last + torch.compile", True, False, True)]
    for name, cl, bf16, compiled in cases:
        step = single_step(cl, bf16, compiled, args.batch)
        start = time.perf_counter()
        for _ in range(3):  # warm-up (and compilation)
            step()
        warm = time.perf_counter() - start
        rows.append(
            (name, 1, best_time(step, args.steps, args.repeats), f"warm-up {warm:.1f} s" if compiled else "")
        )
    step = vmap_step(args.seeds, args.batch)
    for _ in range(2):
        step()
    rows.append((f"vmap {args.seeds} seeds", args.seeds, best_time(step, args.steps, args.repeats), ""))

    eager = rows[0][2]
    print(f"lfd_tcmen, composite-shaped batch of {args.batch}, one thread, {torch.__version__}, {cpu_name()}")
    print()
    print("| step | ms per seed-step | samples/s | speed-up vs eager | note |")
    print("|---|---|---|---|---|")
    for name, seeds, seconds, note in rows:
        per_seed = seconds / seeds
        print(
            f"| {name} | {per_seed * 1000:.1f} | {args.batch / per_seed:.0f} | {eager / per_seed:.2f} | {note} |"
        )


if __name__ == "__main__":
    main()
