"""Photo page: the faces of an uploaded photo, each with its predicted labels.

Layout only; the logic is in :mod:`fairaudit.app` (reading the photo, predicting it
as ``fairaudit predict`` does, drawing the boxes, the per-face probability frames
and charts).
"""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from fairaudit.app._models import fairface_models, load_predictor, model_card_markdown, model_note
from fairaudit.app._photo import (
    DETECTOR_NOTES,
    PHOTO_MODES,
    READINGS_DIFFER,
    FacePrediction,
    compare_readings,
    draw_faces,
    example_photo,
    face_predictions,
    photo_detector,
    predict_command,
    predict_faces_table,
    probability_chart,
    read_photo,
)
from fairaudit.detect import FaceDetector
from fairaudit.exceptions import FairAuditError
from fairaudit.inference import Predictor

#: Shown under the "no face" warning: what the detector can and cannot find.
DETECTOR_HINT = (
    "The detector finds faces seen roughly from the front; it misses profiles, small "
    "or partly hidden faces (the Haar cascade also tilted ones). Try a closer, frontal "
    'photo; for a photo that is one face crop already, read it as "One face crop" '
    "(sidebar)."
)


@st.cache_resource(show_spinner="Loading the face detector...")
def cached_detector() -> tuple[str, FaceDetector]:
    """The best installed face detector (dlib CNN with alignment, else Haar), once."""
    return photo_detector()


@st.cache_resource(show_spinner="Loading the model...")
def cached_predictor(name: str) -> Predictor:
    """The model's predictor, loaded once per server process."""
    return load_predictor(name)


@st.cache_resource
def prediction_lock() -> threading.Lock:
    """One prediction at a time per server: sessions run in threads, and they share
    the model and the detector (OpenCV's cascade is not documented as thread-safe)."""
    return threading.Lock()


@st.cache_data(max_entries=32, show_spinner="Predicting...")
def cached_faces(model: str, name: str, data: bytes, mode: str) -> pd.DataFrame:
    """The faces table of a photo read in a mode (``predict_faces_table``), kept across reruns."""
    predictor = cached_predictor(model)
    photo = read_photo(data, name=name)
    detector = cached_detector()[1] if mode == "detect" else None
    with prediction_lock():
        return predict_faces_table(predictor, photo, mode=mode, detector=detector)


def _keep_model() -> None:
    st.session_state["model"] = st.session_state["model_selector"]


def _keep_mode() -> None:
    st.session_state["mode"] = st.session_state["mode_selector"]


def _use_upload() -> None:
    st.session_state["use_example"] = False


def _use_example() -> None:
    st.session_state["use_example"] = True


def choose_model() -> str:
    """The model selector in the sidebar; its choice survives page switches."""
    models = fairface_models()
    if st.session_state.get("model_selector") not in models:
        st.session_state["model_selector"] = st.session_state["model"]
    st.sidebar.selectbox(
        "Model",
        models,
        key="model_selector",
        on_change=_keep_model,
        help="Shipped models trained on FairFace; see docs/model-cards.md.",
    )
    return st.session_state["model"]


def choose_mode() -> str:
    """How to read the photo (sidebar): find its faces, or take it as one face crop."""
    st.session_state.setdefault("mode", "detect")
    st.session_state["mode_selector"] = st.session_state["mode"]
    st.sidebar.radio(
        "Read the photo as",
        list(PHOTO_MODES),
        format_func=PHOTO_MODES.__getitem__,
        key="mode_selector",
        on_change=_keep_mode,
        help="A photo of people: the faces are found and cropped, as `fairaudit predict "
        "PHOTO --detect` does. One face crop (a FairFace or UTKFace image): the whole "
        "photo is the model's input, as `fairaudit predict PHOTO` reads it.",
    )
    return st.session_state["mode"]


def chosen_photo() -> tuple[str, bytes] | None:
    """The photo to analyse: the example if asked for last, else the uploaded file."""
    uploaded = st.file_uploader(
        "Upload a photo",
        key="photo_upload",
        on_change=_use_upload,
        help="A JPEG, PNG, WebP, BMP, GIF or TIFF photo with one or more faces.",
    )
    st.button(
        "Try an example photo",
        on_click=_use_example,
        help="Grace Hopper, a public-domain portrait bundled with matplotlib.",
    )
    if st.session_state.get("use_example"):
        return example_photo()
    if uploaded is not None:
        return uploaded.name, uploaded.getvalue()
    return None


def show_model(model: str) -> None:
    """The caution about the predictions, and the model card on demand."""
    st.caption(model_note(model))
    with st.expander(f"Model card: {model}"):
        st.markdown(model_card_markdown(model))


def show_face(face: FacePrediction, crop: object) -> None:
    """One face: its crop, then per task its label and probability chart."""
    st.subheader(f"Face {face.number}")
    columns = st.columns([1, 3, 3, 3])
    columns[0].image(crop, caption=f"Face {face.number}")
    for column, (task, label) in zip(columns[1:], face.labels.items()):
        with column:
            # the model's own class names: no Markdown in them
            st.markdown(f"**{face.summary(task)}**")
            if task in face.probabilities:
                chart = probability_chart(face.probabilities[task], predicted=label)
                st.altair_chart(chart, theme=None)


def show_other_reading(model: str, name: str, data: bytes, found: FacePrediction) -> None:
    """The photo of one face read as one face crop too, beside the face found, and why."""
    tasks = cached_predictor(model).tasks
    (whole,) = face_predictions(cached_faces(model, name, data, "crop"), tasks)
    table = compare_readings(found, whole)
    differ = int((~table["same label"]).sum())
    with st.expander(
        f"The whole photo read as one face crop (`fairaudit predict` without `--detect`): "
        f"{differ} of {len(table)} labels differ"
    ):
        st.table(table)
        st.caption(f"`{predict_command(name, model=model, mode='crop')}` gives the right column.")
        st.markdown(READINGS_DIFFER)


def show_faces(model: str, name: str, data: bytes, mode: str) -> None:
    """The photo with its faces boxed, then each face's labels and probability charts."""
    try:
        image = read_photo(data, name=name)
        faces = cached_faces(model, name, data, mode)
    except FairAuditError as exc:
        st.error(str(exc))
        return
    predictions = face_predictions(faces, cached_predictor(model).tasks)
    command = f"Predicted as `{predict_command(name, model=model, mode=mode)}` predicts it."
    if mode == "crop":
        st.subheader(f"{name} read as one face crop")
        st.caption(f"{command} The whole photo is the model's input; no face is searched for.")
        show_model(model)
        show_face(predictions[0], image)
        return
    if not predictions:
        st.warning(f"No face found in {name}. {DETECTOR_HINT}")
        st.image(image, caption=name, width="content")
        return
    count = f"{len(predictions)} face{'s' if len(predictions) > 1 else ''}"
    st.subheader(f"{count} found in {name}")
    detector = cached_detector()[0]
    st.caption(f"Face detector: {detector}, {DETECTOR_NOTES.get(detector, '')}. {command}")
    st.image(draw_faces(image, faces), caption=f"{name}: {count}, largest first")
    show_model(model)
    for face in predictions:
        x, y, width, height = face.box
        show_face(face, image.crop((x, y, x + width, y + height)))
    if len(predictions) == 1:
        show_other_reading(model, name, data, predictions[0])


def main() -> None:
    """Lay out the photo page."""
    st.title("Gender, age group and ethnicity of the faces in a photo")
    model = choose_model()
    mode = choose_mode()
    photo = chosen_photo()
    if photo is None:
        st.info(
            "No photo yet: upload one (JPEG, PNG, WebP, ...) or try the example photo. "
            "Each face found is boxed and numbered, with its predicted labels."
        )
        show_model(model)
        return
    show_faces(model, *photo, mode)


main()
