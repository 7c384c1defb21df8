"""Time one training step (forward + loss + backward + AdamW) of a registered model, batch 32.

Usage: python benchmarks/model_step.py [--model lfd_tcmen] [--batch 32] [--steps 10] [--threads 2]
Prints a table: regime, params, face_resolution, ms/step, and the implied seconds for one
composite LOSO fold (14 batches x 40 epochs).
"""

from __future__ import annotations

import argparse
import time

import torch

from lfd_tcmen.models import ModelSpec, create_model

REGIMES = {
    "full (F=3,K=4)": (("onset", "apex", "offset"), ("onset:apex", "onset:mid", "mid:apex", "apex:offset")),
    "composite (F=1,K=1)": (("apex",), ("onset:apex",)),
}


def time_step(model, spec: ModelSpec, batch: int, steps: int) -> float:
    g = torch.Generator().manual_seed(0)
    faces = torch.rand(batch, spec.num_frames, spec.face_size, spec.face_size, generator=g)
    flows = torch.rand(batch, spec.num_segments, 3, spec.flow_size, spec.flow_size, generator=g)
    data = {
        "labels": torch.arange(batch) % spec.num_classes,
        "subjects": torch.arange(batch) % spec.num_subjects,
    }
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        total, _ = model.loss(model(faces, flows), data)
        optimiser.zero_grad()
        total.backward()
        optimiser.step()

    for _ in range(3):
        step()
    # The fastest step: on a shared machine the mean measures the neighbours, the minimum the model.
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lfd_tcmen")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("| regime | face_resolution | params | ms/step | s per composite fold (560 steps) |")
    print("|---|---|---|---|---|")
    for regime, (frames, segments) in REGIMES.items():
        spec = ModelSpec(3, 67, frames, segments, 64, 28)
        for resolution in (32, 0):
            torch.manual_seed(0)
            params = {"face_resolution": resolution} if args.model == "lfd_tcmen" else {}
            model = create_model(args.model, spec, **params)
            seconds = time_step(model, spec, args.batch, args.steps)
            print(
                f"| {regime} | {resolution or 64} | {model.num_parameters():,} | {seconds * 1000:.1f} | {seconds * 560:.1f} |"
            )
            if args.model != "lfd_tcmen":
                break


if __name__ == "__main__":
    main()
