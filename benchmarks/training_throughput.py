"""Training throughput of a model on real FairFace train images (images per second).

Usage: python benchmarks/training_throughput.py [--n-images 256] [--threads 1 2]
Decodes the images once, then times optimizer steps (forward + backward + Adam)
on batches already in memory, so the figure is the model's, not the JPEG decoder's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from fairaudit.datasets import FaceDataset, load_fairface
from fairaudit.datasets._torchdata import collate_faces
from fairaudit.models import FAIRFACE_TASKS, build_model
from fairaudit.training._loop import _task_losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parents[2] / "shared/data/fairface")
    )
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--arch", default="lightweight")
    parser.add_argument("--no-channels-last", action="store_true")
    args = parser.parse_args()

    table = load_fairface(args.root, splits=("train",), on_missing_image="drop").table
    data = FaceDataset(table.iloc[: args.n_images], image_size=args.image_size)
    batches = []
    for start in range(0, len(data) - args.batch_size + 1, args.batch_size):
        batches.append(collate_faces([data[i] for i in range(start, start + args.batch_size)]))
    fmt = torch.contiguous_format if args.no_channels_last else torch.channels_last
    for threads in args.threads:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model = build_model(args.arch, tasks=FAIRFACE_TASKS).to(memory_format=fmt).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(batch, model=model, optimizer=optimizer):
            images = batch.images.contiguous(memory_format=fmt)
            loss, _, _ = _task_losses(model(images), batch.targets, FAIRFACE_TASKS, None)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        step(batches[0])  # warm-up
        started = time.perf_counter()
        for batch in batches:
            step(batch)
        seconds = time.perf_counter() - started
        n = len(batches) * args.batch_size
        print(
            f"{args.arch} {args.image_size}px batch {args.batch_size} "
            f"{'contiguous' if args.no_channels_last else 'channels_last'} threads {threads}: "
            f"{n / seconds:.1f} images/s ({seconds / len(batches) * 1000:.0f} ms/step, {n} images)"
        )


if __name__ == "__main__":
    main()
