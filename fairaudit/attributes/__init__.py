"""Derived attributes of face images: skin tone (ITA) and image conditions, as audit groups.

No face dataset labels skin tone, lighting or sharpness. :func:`derive_attributes`
computes them from each image (the face chip a model sees) and returns a table,
one row per image, joinable with any labels table by ``file``; its binned columns
(``skin_tone``, ``skin_type``, ``brightness_level``, ``contrast_level``,
``sharpness``, ``face_size_level``) are ordinary grouping columns for
:func:`fairaudit.model_audit.audit_table`. :func:`gender_shades_table` is the accuracy
of each task by lighter/darker skin x gender, as in Gender Shades.
:func:`find_label_issues` flags the rows whose label a model's out-of-sample
probabilities contradict (cleanlab, extra ``labels``), and :func:`label_issue_rates`
gives their rate per group. See ``docs/derived-attributes.md``.
"""

from fairaudit._lazy import lazy_attributes
from fairaudit.attributes._colour import individual_typology_angle
from fairaudit.attributes._gender_shades import gender_shades_table
from fairaudit.attributes._label_quality import (
    exclude_suspect_rows,
    find_label_issues,
    label_issue_rates,
)

#: The names that read images (PIL, the image folders, a progress bar), by the private
#: module defining them: imported on first use, so that the tables of this package
#: (a report's suspect labels, Gender Shades) load none of it.
_READ_IMAGES = {"derive_attributes": "._derive", "write_attributes": "._derive"}

__all__ = [
    "derive_attributes",
    "exclude_suspect_rows",
    "find_label_issues",
    "gender_shades_table",
    "individual_typology_angle",
    "label_issue_rates",
    "write_attributes",
]

__getattr__, __dir__ = lazy_attributes(__name__, _READ_IMAGES, globals())
