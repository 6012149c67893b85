"""``analyze(..., client=)``: the work spread over a Dask cluster.

The tasks are batches of consecutive photos or arrays, and spans of a
video's frames: a video of two spans of :data:`SPAN_SECONDS` or more is cut
by time into equal spans, one task each, as many as a multiple of the
cluster's threads. A span's task seeks to a
little before its span (a warm-up of :data:`WARMUP_FRAMES` analysed frames,
more than the tracker keeps a face it has lost) and tracks from there with
its own tracker; the client then joins the spans in order: a face of a
span takes the id that the span before gave to the same box in the frames
both analysed, and the faces new in a span take new ids in the order they
appear, as one tracker over the whole video numbers them. The warm-up's
rows are dropped. The table is the serial run's, row for row (tested on
real clips); ids could differ only where two faces compete for one box at
a span's start.
"""

import math

import numpy as np

from ._analysis import _Batch, _classifier, _item_faces, _progress, _table
from ._sources import VideoBrokeOff, _open_video, _warn_unreadable
from ._tracking import _Tracker

__all__ = ["SPAN_SECONDS", "WARMUP_FRAMES"]

#: the length of a video's spans, one task each (a video of less than two is one task)
SPAN_SECONDS = 30.0
#: analysed frames each span's task tracks before its span: twice what the
#: tracker keeps a lost face (its max_gap + 1)
WARMUP_FRAMES = 2 * (_Tracker().max_gap + 1)
#: photos or arrays in a task, at most
PHOTOS_PER_TASK = 16


def _analyze_on_dask(client, items, model, engine, options, progress):
    """(tables, failed files) of ``items`` on a Dask cluster, in order; the
    client warns about the failed files, or raises the first where
    ``options["errors"]`` is "raise"."""
    from distributed import as_completed

    # a shipped model's name travels as text and each worker loads it once;
    # a fitted classifier is sent to every worker once, under a key of its
    # own (scattered under its hash, two calls in a row on one model share
    # a key, and the first call's release lost the second one's data)
    shipped = model if isinstance(model, str) else client.scatter(model, broadcast=True,
                                                                  hash=False)
    # every failure comes back, to be warned about or raised here in order
    work = {key: value for key, value in options.items() if key != "errors"}
    parts = list(_parts(items, options, sum(client.nthreads().values())))
    futures = [[client.submit(_run_part, part, shipped, engine=engine, pure=False, **work)
                for part in pieces] for _, pieces in parts]
    bar = _progress(sum(map(len, futures)), progress, "tasks")
    for _ in as_completed([future for pieces in futures for future in pieces]):
        bar.update(1)
    bar.close()
    tables, failed = [], {}
    for (kind, pieces), done in zip(parts, futures):
        results = client.gather(done)
        if kind == "spans":
            results = [_join_spans(pieces, results)]
        for table, errors_of in results:
            tables.append(table)
            for name, (reason, partial) in errors_of.items():
                if options["errors"] == "raise":
                    raise (VideoBrokeOff if partial else ValueError)(reason)
                failed[name] = reason
                if options["errors"] == "warn":
                    _warn_unreadable(name, reason, stacklevel=4,  # analyze's caller
                                     partial=partial)
    return tables, failed


def _parts(items, options, threads):
    """("items", [("items", [item, ...]), ...]) for each run of consecutive
    photos and arrays, ("spans", [("span", item, (warm, start, stop)), ...])
    for each video: the tasks, in the order of ``items``."""
    per_task = max(1, min(PHOTOS_PER_TASK, math.ceil(len(items) / (4 * max(1, threads)))))
    stills = []
    for item in items:
        if item[1] != "video":
            stills.append(item)
            continue
        if stills:
            yield "items", _batches(stills, per_task)
            stills = []
        yield "spans", [("span", item, frames) for frames in _spans(item, options, threads)]
    if stills:
        yield "items", _batches(stills, per_task)


def _batches(items, size):
    return [("items", items[k:k + size]) for k in range(0, len(items), size)]


def _spans(item, options, threads=1):
    """(warm-up start, start, stop) of each span's frames; stop None for the
    last. Spans of about :data:`SPAN_SECONDS`, as many as a multiple of the
    cluster's ``threads`` (no thread idle at the end); one span where the
    video is shorter than two, or cannot be opened here (its task then
    reports why)."""
    try:
        capture, rate, count = _open_video(item[2])
        capture.release()
    except ValueError:
        return [(0, None)]
    fps = options["fps"]
    if rate <= 0 or count <= 0:
        return [(0, None)]
    length = SPAN_SECONDS * rate
    step = options["every"] if fps is None else max(1.0, rate / fps)  # frames per analysed frame
    warmup = math.ceil(WARMUP_FRAMES * step)
    pieces = int(count // length)
    if pieces >= 2:
        pieces = math.ceil(pieces / threads) * threads
    if pieces < 2 or warmup >= count / pieces:
        return [(0, None)]
    bounds = np.linspace(0, count, pieces + 1).round().astype(int).tolist()
    return [(max(0, start - warmup), start, stop if k < pieces - 1 else None)
            for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:]))]


def _run_part(part, model, *, engine, detect, every, fps, batch_size, detector_params):
    """The work of one task: (rows as a DataFrame, {file: (reason, whether
    part of it was read)}) of a batch of photos and arrays, or of a video's
    span (``("span", item, (warm, start, stop))``); an array that cannot be
    taken raises."""
    classifier = _classifier(model, engine)  # a shipped model's name, on a worker
    batch, failed = _Batch(classifier, batch_size), {}
    kind, *what = part
    if kind == "items":
        jobs = [(item, (0, None)) for item in what[0]]
    else:
        item, (warm, start, stop) = what
        jobs = [(item, (warm, stop))]
    for item, frames in jobs:
        try:
            _item_faces(item, batch, {}, detect=detect, every=every, fps=fps,
                        detector_params=detector_params, errors="raise", frames=frames)
        except ValueError as exc:
            if item[1] == "array":
                raise
            failed[item[0]] = (str(exc), isinstance(exc, VideoBrokeOff))
    return _table(batch.tables(), batch.names), failed


def _join_spans(pieces, results):
    """One video's (table, failed) from its spans' (table with the ids of
    each span's tracker, failed): ids joined across spans, warm-ups
    dropped, nothing after the span where the video broke off."""
    import pandas as pd

    kept, previous, next_id = [], None, 0
    for (_, _, (warm, start, _)), (table, failed) in zip(pieces, results):
        if previous is None:
            ids = {face: face for face in table["face"].unique()}
        else:
            ids = _matched_ids(previous[previous["frame"] >= warm], table[table["frame"] < start])
        owned = table[table["frame"] >= start]
        for face in owned["face"].unique():  # in order of first appearance
            if face not in ids:
                ids[face], next_id = next_id, next_id + 1
            next_id = max(next_id, ids[face] + 1)
        owned = owned.assign(face=owned["face"].map(ids).astype(int))
        kept.append(owned)
        previous = owned
        if failed:
            return pd.concat(kept, ignore_index=True), failed
    return pd.concat(kept, ignore_index=True), {}


BOX = ["frame", "x", "y", "width", "height"]


def _matched_ids(before, warmup):
    """{id in ``warmup``: id in ``before``} of the faces whose box is the same
    in a frame both analysed; the latest frame's match wins."""
    merged = warmup[BOX + ["face"]].merge(before[BOX + ["face"]], on=BOX,
                                           suffixes=("", "_before"))
    merged = merged.sort_values("frame", kind="stable")
    return dict(zip(merged["face"], merged["face_before"]))
