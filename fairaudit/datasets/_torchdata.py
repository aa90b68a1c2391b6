"""A torch ``Dataset`` over a label table, and the collate function that drops corrupt items."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from fairaudit.datasets._transforms import ImageTransform, load_rgb
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import Vocabulary

__all__ = ["FaceBatch", "FaceDataset", "FaceItem", "collate_faces"]

logger = logging.getLogger(__name__)

_AGE_TARGETS = ("group", "years")


class FaceItem(tuple):
    """One sample: unpacks as ``image, targets`` and carries its ``index``.

    ``index`` is the row position in the table given to :class:`FaceDataset`;
    :func:`collate_faces` gathers it into :attr:`FaceBatch.indices`.
    """

    index: int

    def __new__(cls, image: torch.Tensor, targets: dict[str, torch.Tensor], index: int) -> FaceItem:
        item = super().__new__(cls, (image, targets))
        item.index = int(index)
        return item

    def __getnewargs__(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], int]:
        return (self[0], self[1], self.index)

    @property
    def image(self) -> torch.Tensor:
        """Image tensor ``(3, height, width)``."""
        return self[0]

    @property
    def targets(self) -> dict[str, torch.Tensor]:
        """Task -> scalar target tensor."""
        return self[1]


@dataclass
class FaceBatch:
    """A collated batch of faces.

    Attributes
    ----------
    images : torch.Tensor
        ``(N, 3, height, width)`` float32; ``(0, 3, 0, 0)`` when every item
        of the batch was corrupt.
    targets : dict of str to torch.Tensor
        Task -> ``(N,)`` targets (int64 class codes, float32 ages in years).
    indices : torch.Tensor
        ``(N,)`` int64 row positions in the dataset's table.
    n_skipped : int
        Corrupt items dropped from this batch.
    """

    images: torch.Tensor
    targets: dict[str, torch.Tensor]
    indices: torch.Tensor
    n_skipped: int = 0

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> FaceBatch:
        """The batch moved to ``device`` (indices stay on the CPU)."""
        return FaceBatch(
            images=self.images.to(device, non_blocking=non_blocking),
            targets={k: v.to(device, non_blocking=non_blocking) for k, v in self.targets.items()},
            indices=self.indices,
            n_skipped=self.n_skipped,
        )

    def pin_memory(self) -> FaceBatch:
        """Pinned copy (called by ``DataLoader(pin_memory=True)``)."""
        return FaceBatch(
            images=self.images.pin_memory(),
            targets={k: v.pin_memory() for k, v in self.targets.items()},
            indices=self.indices.pin_memory(),
            n_skipped=self.n_skipped,
        )


def collate_faces(batch: Sequence[FaceItem | None]) -> FaceBatch:
    """Stack :class:`FaceDataset` items into a :class:`FaceBatch`, dropping ``None`` items.

    Use as ``DataLoader(dataset, collate_fn=collate_faces)``. Items without an
    ``index`` (plain ``(image, targets)`` tuples) get index -1.
    """
    items = [item for item in batch if item is not None]
    n_skipped = len(batch) - len(items)
    if not items:
        return FaceBatch(
            images=torch.empty((0, 3, 0, 0)),
            targets={},
            indices=torch.empty(0, dtype=torch.int64),
            n_skipped=n_skipped,
        )
    images = torch.stack([item[0] for item in items])
    tasks = list(items[0][1])
    targets = {task: torch.stack([item[1][task] for item in items]) for task in tasks}
    indices = torch.tensor([getattr(item, "index", -1) for item in items], dtype=torch.int64)
    return FaceBatch(images=images, targets=targets, indices=indices, n_skipped=n_skipped)


def _vocabulary_of(table: pd.DataFrame, task: str) -> Vocabulary:
    dtype = table[task].dtype
    if not isinstance(dtype, pd.CategoricalDtype):
        raise DataValidationError(
            f"column {task!r} is not categorical ({dtype}); pass vocabularies={{{task!r}: ...}}"
        )
    return Vocabulary(task, tuple(str(c) for c in dtype.categories), ordered=bool(dtype.ordered))


class FaceDataset(Dataset):
    """Images and targets of a label table, for training and prediction.

    Parameters
    ----------
    table : pandas.DataFrame
        A loader's table (``path``, ``has_image`` and the task columns). Rows
        whose ``has_image`` is False are excluded; their number is kept in
        :attr:`n_without_image` and logged.
    image_size : int or (int, int), default=112
        Output size (see :class:`ImageTransform`).
    augment : bool, default=False
        Light augmentation (see :class:`ImageTransform`).
    tasks : sequence of str, default=("gender", "age", "race")
        Target columns.
    vocabularies : mapping of str to Vocabulary, optional
        Class codes per task; default the categories of the table's columns.
        A table value outside a given vocabulary raises :class:`UnknownLabelError`.
    age_target : {"group", "years"}, default="group"
        ``"years"``: the ``age`` target is the float32 ``age_years`` column
        (UTKFace) instead of the age-group code.
    skip_corrupt : bool, default=True
        An unreadable image makes ``__getitem__`` return None (dropped by
        :func:`collate_faces`) and is counted in :attr:`n_corrupt` (per process:
        with DataLoader workers, count :attr:`FaceBatch.n_skipped` instead).
        False: raise :class:`DataValidationError` naming the file.

    Attributes
    ----------
    transform : ImageTransform
    vocabularies : dict of str to Vocabulary
    n_without_image : int
    n_corrupt : int
    corrupt_files : list of str
        Files found corrupt in this process.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        *,
        image_size: int | Sequence[int] = 112,
        augment: bool = False,
        tasks: Sequence[str] = ("gender", "age", "race"),
        vocabularies: Mapping[str, Vocabulary] | None = None,
        age_target: str = "group",
        skip_corrupt: bool = True,
    ) -> None:
        if not isinstance(table, pd.DataFrame):
            raise DataValidationError(
                f"FaceDataset expects the label table (a DataFrame), got {type(table).__name__}"
            )
        if age_target not in _AGE_TARGETS:
            raise DataValidationError(
                f"age_target must be one of {_AGE_TARGETS}, got {age_target!r}"
            )
        tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
        needed = [
            "path",
            *("age_years" if (t == "age" and age_target == "years") else t for t in tasks),
        ]
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise DataValidationError(f"the table lacks column(s) {missing}")
        self.transform = ImageTransform(image_size, augment=augment)
        self.tasks = tasks
        self.age_target = age_target
        self.skip_corrupt = bool(skip_corrupt)

        if "has_image" in table.columns:
            keep = table["has_image"].fillna(False).to_numpy(dtype=bool)
        else:
            keep = table["path"].notna().to_numpy()
        self._rows = np.flatnonzero(keep).astype(np.int64)
        self.n_without_image = int(len(table) - len(self._rows))
        if self.n_without_image:
            logger.warning(
                "FaceDataset: %d of %d rows have no image and are excluded",
                self.n_without_image,
                len(table),
            )
        rows = table.iloc[self._rows]
        self._paths = rows["path"].astype(str).to_numpy(dtype=object)

        given = dict(vocabularies or {})
        self.vocabularies: dict[str, Vocabulary] = {}
        self._targets: dict[str, torch.Tensor] = {}
        for task in tasks:
            if task == "age" and age_target == "years":
                years = rows["age_years"]
                bad = np.flatnonzero(years.isna().to_numpy())
                if bad.size:
                    raise DataValidationError(
                        f"age_years is missing for {bad.size} rows, e.g. file "
                        f"{rows['file'].iloc[bad[0]] if 'file' in rows else bad[0]!r}"
                    )
                self._targets[task] = torch.as_tensor(
                    years.to_numpy(dtype=np.float32), dtype=torch.float32
                )
                continue
            vocab = given.get(task) or _vocabulary_of(table, task)
            self.vocabularies[task] = vocab
            codes = vocab.encode(rows[task], source=f"table column {task!r}")
            self._targets[task] = torch.as_tensor(codes, dtype=torch.int64)
        self.n_corrupt = 0
        self.corrupt_files: list[str] = []

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def targets(self) -> dict[str, torch.Tensor]:
        """Task -> ``(len(self),)`` targets of every item, in item order.

        The same tensors :meth:`__getitem__` indexes: int64 class codes, or float32
        ages in years (``age_target="years"``).
        """
        return dict(self._targets)

    def __getitem__(self, i: int) -> FaceItem | None:
        """``(image, targets)`` of item ``i``, or None for a corrupt image when skipping."""
        path = self._paths[i]
        try:
            image = load_rgb(path)
        except Exception as exc:  # PIL raises many types for bad files
            if not self.skip_corrupt:
                raise DataValidationError(f"cannot read image {path}: {exc}") from exc
            self.n_corrupt += 1
            self.corrupt_files.append(path)
            logger.warning("skipping unreadable image %s: %s", path, exc)
            return None
        targets = {task: values[i] for task, values in self._targets.items()}
        return FaceItem(self.transform(image), targets, int(self._rows[i]))
