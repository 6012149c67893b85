"""Photos and videos with each face's box and label drawn (``predict --annotate``)."""

from pathlib import Path

__all__ = ["annotate", "draw_faces"]

_COLOUR = (255, 200, 0)


def _label(row):
    return f"{row['face']}: {row['label']} {row[row['label']]:.2f}"


def _draw_image(path, rows, out):
    from PIL import Image, ImageDraw, ImageOps

    with Image.open(path) as image:
        # upright, as analyze read it: the boxes are in that frame
        image = ImageOps.exif_transpose(image).convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 400))
    for _, row in rows.iterrows():
        x, y, w, h = (int(row[k]) for k in ("x", "y", "width", "height"))
        draw.rectangle([x, y, x + w, y + h], outline=_COLOUR, width=width)
        draw.text((x, max(0, y - 12 * width)), _label(row), fill=_COLOUR,
                  font_size=10 * width)
    image.save(out)


def draw_faces(frame, rows):
    """A BGR video frame (OpenCV's) with the boxes and labels of ``rows``
    (analyze's rows for that frame) drawn on it, in place."""
    import cv2

    for _, row in rows.iterrows():
        x, y, w, h = (int(row[k]) for k in ("x", "y", "width", "height"))
        cv2.rectangle(frame, (x, y), (x + w, y + h), _COLOUR[::-1], 2)
        cv2.putText(frame, _label(row), (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, _COLOUR[::-1], 1, cv2.LINE_AA)
    return frame


def _draw_video(path, rows, out):
    import cv2

    capture = cv2.VideoCapture(str(path))
    rate = capture.get(cv2.CAP_PROP_FPS) or 25.0
    # each analysed frame's faces, split once (not filtered again every frame)
    by_frame = dict(tuple(rows.groupby("frame")))
    writer, number, current = None, 0, rows.iloc[0:0]
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), rate,
                                         (width, height))
            current = by_frame.get(number, current)
            # boxes stay until the next frame with faces
            writer.write(draw_faces(frame, current))
            number += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()


def annotate(table, folder, *, overwrite=False):
    """Write each source of ``table`` (what ``analyze`` returns for files)
    with its faces drawn: photos as PNG, videos as MP4, into ``folder``.

    Never writes over one of the table's sources, and over another existing
    file only with ``overwrite``; both are checked for every output before
    the first is written.

    Returns
    -------
    list of pathlib.Path
        The files written, one per source that has faces.

    Raises
    ------
    ValueError
        If an output would replace an input, or an existing file without
        ``overwrite``.
    """
    from ._sources import VIDEO_SUFFIXES

    folder = Path(folder)
    sources = {Path(source).resolve() for source in table["source"].unique()
               if Path(source).is_file()}
    plan, used = [], set()
    for source, rows in table.groupby("source", sort=False):
        path = Path(source)
        if not path.is_file():
            continue  # an array: nothing to draw on
        video = path.suffix.lower() in VIDEO_SUFFIXES
        stem, number = path.stem, 1
        while stem in used:  # same names from different folders
            number += 1
            stem = f"{path.stem}-{number}"
        used.add(stem)
        out = folder / (stem + (".mp4" if video else ".png"))
        if out.resolve() in sources:
            raise ValueError(f"{out}: is one of the inputs; annotated copies never "
                             "replace their inputs (choose another folder).")
        if out.exists() and not overwrite:
            raise ValueError(f"{out}: exists; pass overwrite=True (--overwrite) to "
                             "replace it, or choose another folder.")
        plan.append((path, rows, out, video))
    folder.mkdir(parents=True, exist_ok=True)
    for path, rows, out, video in plan:
        (_draw_video if video else _draw_image)(path, rows, out)
    return [out for _, _, out, _ in plan]
