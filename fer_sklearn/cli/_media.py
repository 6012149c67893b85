"""The commands on photos and videos: ``predict`` (photos, videos, folders)
and ``live`` (a webcam, a stream or a file as it plays)."""

import json
import sys
import time
from pathlib import Path

import numpy as np

from .._labels import LANDMARKS, TABLE_COLUMNS as _COLUMNS_LIVE
from ._common import (
    CommandError,
    _check_annotate_folder,
    _detector_settings,
    _load_model,
    _shipped_name,
)

def _predict(args):
    from .._analysis import _COLUMNS
    from .._analyze import analyze
    from .._sources import VIDEO_SUFFIXES, _expand

    # every output target is checked before any work
    if args.csv:
        from .._validation import check_writable_file

        check_writable_file(Path(args.csv), "--csv")
    model = _load_model(args.model, tta=args.tta, engine=args.engine, light=True)
    # the files, found once: their names for "no face found", their paths for analyze
    items = list(_expand(args.images))
    if args.annotate:
        _check_annotate_folder(Path(args.annotate), items)
    detector = _detector_settings(args)
    sources = [name for name, _, _ in items]
    client = None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise CommandError("--scheduler needs dask.distributed: pip install "
                               "\"fer_sklearn[dask]\"") from exc
        client = Client(args.scheduler)
        # the workers load a shipped model by its name
        model = _shipped_name(args.model) or model
    try:
        table = analyze([path for _, _, path in items], model,
                        detect=False if args.no_detect else None,
                        every=args.every, fps=args.fps, client=client, errors="skip",
                        engine=args.engine,
                        progress=args.progress or sys.stderr.isatty(), **detector)
    finally:
        if client is not None:
            client.close()
    failed = table.attrs.get("errors", {})
    for name, reason in failed.items():
        print(f"fer-sklearn predict: {reason}", file=sys.stderr)
    for name in sorted(set(sources) - set(table["source"]) - set(failed), key=sources.index):
        print(f"{name}: no face found", file=sys.stderr)
    names = [column for column in table.columns if column not in _COLUMNS]
    results = []
    for row in table.itertuples(index=False):
        row = row._asdict()
        result = {"image": row["source"]}
        if Path(row["source"]).suffix.lower() in VIDEO_SUFFIXES:
            seconds = float(row["time"])  # NaN where the video records no frame rate
            result.update(frame=int(row["frame"]),
                          time=None if np.isnan(seconds) else round(seconds, 3),
                          face=int(row["face"]))
        if not args.no_detect:
            result["box"] = {key: int(row[key]) for key in ("x", "y", "width", "height")}
            result["score"] = round(float(row["score"]), 4)
            result["landmarks"] = {
                point: [round(float(row[f"{point}_x"]), 1), round(float(row[f"{point}_y"]), 1)]
                for point in LANDMARKS}
        result["label"] = row["label"]
        result["probabilities"] = {name: round(float(row[name]), 4) for name in names}
        results.append(result)
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {len(table)} rows to {args.csv}", file=sys.stderr)
    if args.annotate:
        from .._annotate import annotate

        for path in annotate(table, args.annotate, overwrite=args.overwrite):
            print(f"wrote {path}", file=sys.stderr)
    if args.summary:
        _print_summary(table, args.json)
    elif args.json:
        print(json.dumps(results, indent=1))
    else:
        for result in results:
            ranked = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
            where = ""
            if "frame" in result:
                when = "" if result["time"] is None else f" ({result['time']:.2f} s)"
                where += f" frame {result['frame']}{when} face {result['face']}"
            if "box" in result:
                where += " at ({x}, {y}) {width}x{height}".format(**result["box"])
                where += f" (face score {result['score']:.2f})"
            print(f"{result['image']}{where}: {result['label']}  ("
                  + ", ".join(f"{name} {p:.2f}" for name, p in ranked) + ")")
    if failed:
        print(f"fer-sklearn predict: {len(failed)} of {len(items)} files could not be "
              "read in full (named above; of a video that broke off, the frames before "
              "the break are in the results); the others' results are complete.",
              file=sys.stderr)
        return 1
    return 0


def _face_json(row, names):
    return {
        "face": int(row["face"]),
        "box": {key: int(row[key]) for key in ("x", "y", "width", "height")},
        "score": round(float(row["score"]), 4),
        "label": row["label"],
        "probabilities": {name: round(float(row[name]), 4) for name in names},
    }


def _print_summary(table, as_json):
    from .._live import summarize

    summary = summarize(table)
    if as_json:
        print(json.dumps({"summary": json.loads(summary.to_json(orient="records"))}))
        return
    from .._sources import VIDEO_SUFFIXES

    shares = [c for c in summary.columns if c.startswith("share_")]
    for row in summary.itertuples(index=False):
        row = row._asdict()
        parts = ", ".join(f"{c[6:]} {row[c]:.0%}" for c in shares if row[c] >= 0.005)
        seen = ""
        if str(row["source"]).lower().endswith(VIDEO_SUFFIXES):  # a photo has no time
            seen = f"seen {row['first']:.2f}-{row['last']:.2f} s, {row['frames']} frames; "
        print(f"{row['source']} face {row['face']}: {row['dominant']} ({seen}{parts})")


def _live(args):
    import pandas as pd

    from .._live import live

    writer = None
    if args.annotate_video:
        from .._validation import check_writable_file

        out = Path(args.annotate_video)
        check_writable_file(out, "--annotate-video")
        if out.exists() and not args.overwrite:
            raise CommandError(f"--annotate-video {out}: exists; pass --overwrite to "
                               "replace it.")
    show = args.show
    if show:
        import cv2

        try:
            cv2.namedWindow("fer-sklearn live")
        except cv2.error as exc:
            raise CommandError("--show needs OpenCV with a GUI; the opencv-python-headless "
                               "build installed with fer_sklearn has none (pip install "
                               "opencv-python for a window).") from exc
    detector = _detector_settings(args)
    model = _load_model(args.model, tta=args.tta, engine=args.engine, light=True)
    frames, seen, started, stream = [], 0, time.perf_counter(), None
    try:
        stream = live(args.source, model, max_fps=args.max_fps, realtime=not args.fast,
                      engine=args.engine, **detector)
        for item in stream:
            seen += 1
            names = [c for c in item.faces.columns if c not in _COLUMNS_LIVE]
            if args.summary:
                frames.append(item.faces)
            else:
                print(json.dumps({"frame": int(item.frame), "time": round(float(item.time), 3),
                                  "faces": [_face_json(row, names)
                                            for _, row in item.faces.iterrows()]}),
                      flush=True)
            if args.annotate_video or show:
                from .._annotate import draw_faces

                image = draw_faces(item.image.copy(), item.faces)
                if args.annotate_video:
                    if writer is None:
                        import cv2

                        height, width = image.shape[:2]
                        writer = cv2.VideoWriter(str(args.annotate_video),
                                                 cv2.VideoWriter_fourcc(*"mp4v"),
                                                 args.max_fps or 25.0, (width, height))
                    writer.write(image)
                if show:
                    import cv2

                    cv2.imshow("fer-sklearn live", image)
                    if cv2.waitKey(1) & 0xFF == ord("q"):
                        break
    except KeyboardInterrupt:
        pass  # Ctrl-C: a clean stop; what was analysed stands
    finally:
        if writer is not None:
            writer.release()
        if show:
            import cv2

            cv2.destroyAllWindows()
    seconds = time.perf_counter() - started
    counts = ""
    if stream is not None:
        counts = (f" ({stream.delivered} delivered, {stream.dropped} dropped while the "
                  f"analysis was busy, {stream.skipped} passed over by --max-fps; work size "
                  f"{stream.work_size})")
    print(f"fer-sklearn live: {seen} frames analysed in {seconds:.1f} s{counts}",
          file=sys.stderr)
    if args.summary and frames:
        _print_summary(pd.concat(frames, ignore_index=True), args.json)
    return 0
