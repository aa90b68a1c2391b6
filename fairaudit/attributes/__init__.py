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

from fairaudit.attributes._colour import (
    ITA_EDGES,
    SKIN_TONE,
    SKIN_TYPE,
    SKIN_TYPE_EDGE,
    individual_typology_angle,
    skin_tone_category,
    skin_type_category,
    srgb_to_lab,
)
from fairaudit.attributes._conditions import (
    CONDITION_BINS,
    ConditionBins,
    bin_condition,
    laplacian_variance,
    luma,
)
from fairaudit.attributes._derive import (
    ATTRIBUTE_STATUSES,
    DERIVED_VOCABULARIES,
    VALUE_COLUMNS,
    derive_attributes,
    face_attributes,
    write_attributes,
)
from fairaudit.attributes._gender_shades import gender_shades_table
from fairaudit.attributes._label_quality import (
    ANY_LABEL_ISSUE,
    find_label_issues,
    label_issue_rates,
)
from fairaudit.attributes._skin import (
    CHIP_FACE_BOX,
    CHIP_SKIN_BOXES,
    LANDMARK_MODES,
    LANDMARK_SOURCES,
    FaceLandmarker,
    landmark_skin_regions,
    skin_mask,
)

__all__ = [
    "ANY_LABEL_ISSUE",
    "ATTRIBUTE_STATUSES",
    "CHIP_FACE_BOX",
    "CHIP_SKIN_BOXES",
    "CONDITION_BINS",
    "ConditionBins",
    "DERIVED_VOCABULARIES",
    "FaceLandmarker",
    "ITA_EDGES",
    "LANDMARK_MODES",
    "LANDMARK_SOURCES",
    "SKIN_TONE",
    "SKIN_TYPE",
    "SKIN_TYPE_EDGE",
    "VALUE_COLUMNS",
    "bin_condition",
    "derive_attributes",
    "face_attributes",
    "find_label_issues",
    "gender_shades_table",
    "individual_typology_angle",
    "label_issue_rates",
    "landmark_skin_regions",
    "laplacian_variance",
    "luma",
    "skin_mask",
    "skin_tone_category",
    "skin_type_category",
    "srgb_to_lab",
    "write_attributes",
]
