"""The ``fer-sklearn`` argument parser: every command and option."""

import argparse

from .._recipes import recipe_names
from .._validation import ENGINES
from ._common import (
    MODEL_CHOICES,
    _float_in_unit,
    _positive_float,
    _positive_int,
    _seed,
    _usage,
    _work_size,
)
from ._fer2013 import _demo, _evaluate, _train
from ._media import _live, _predict

RECIPE_NAMES = recipe_names()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fer-sklearn",
        description="Facial-expression recognition on FER2013 with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    def add_command(name, **kwargs):
        # every subcommand's --help shows the defaults
        return commands.add_parser(
            name, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def model_options(command, default="cnn"):
        command.add_argument("--model", default=default,
                             help=f"{' or '.join(MODEL_CHOICES)} (shipped), or a "
                                  "file written by 'fer-sklearn train'")
        command.add_argument("--tta", action=argparse.BooleanOptionalAction,
                             default=None,
                             help="average each face with its mirror image (shipped "
                                  "models: their recorded default)")
        command.add_argument("--engine", choices=ENGINES, default=ENGINES[0],
                             help="a shipped model's engine: its ONNX graph on ONNX "
                                  "Runtime (fast, no torch), or the torch model "
                                  "(model files always run on torch)")

    def detector_options(command, what, work_size):
        # None: the API's own default (said in the help)
        command.add_argument("--threshold", type=_float_in_unit, default=None,
                             help="smallest face score kept, in (0, 1] (default 0.6)")
        command.add_argument("--work-size", type=_work_size, default=None,
                             help=f"{what} are searched at most this many pixels long, "
                                  f"64..8192 (default {work_size})")
        command.add_argument("--overlap", type=_float_in_unit, default=None,
                             help="of boxes overlapping more than this, the best is kept "
                                  "(default 0.4)")
        command.add_argument("--no-verify", action="store_true",
                             help="keep every box scoring over the threshold, without "
                                  "the second search around each box that drops boxes "
                                  "on patterns (fabrics, wallpaper) and printed text")

    demo = add_command(
        "demo", help="the shipped CNN on the bundled sample: accuracy, report, figures")
    model_options(demo)
    demo.add_argument("--out", help="also write the study's figures as PNG here")
    demo.set_defaults(func=_demo)

    train = add_command("train", help="train a classifier on FER2013")
    train.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    train.add_argument("--model", choices=["cnn", "rnn", "study-cnn"], default="cnn",
                       help="an estimator at its defaults; study-cnn is recipe study")
    train.add_argument("--recipe", choices=RECIPE_NAMES, default=None,
                       help="train as a shipped model was trained (overrides --model): "
                            + ", ".join(RECIPE_NAMES))
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="epochs (default: the recipe's, else 30)")
    train.add_argument("--usage", type=_usage, default="Training",
                       help="the split to train on (any case)")
    train.add_argument("--max-faces", type=_positive_int, default=None,
                       help="train on a stratified subset of this many faces (a quick run)")
    train.add_argument("--valid", type=_usage, default=None,
                       help="also report accuracy on this split, e.g. PublicTest")
    train.add_argument("--merge-disgust", action="store_true",
                       help="the 6-class protocol: disgust merged into angry")
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--out", required=True,
                       help="the model file to write (weights and metadata, read with "
                            "torch.load(weights_only=True): it cannot run code)")
    train.set_defaults(func=_train)

    evaluate = add_command("evaluate", help="accuracy and report on a split")
    model_options(evaluate)
    evaluate.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    evaluate.add_argument("--usage", type=_usage, default=None,
                          help="the split (any case); default: PrivateTest where the "
                               "file holds it, else PublicTest")
    evaluate.set_defaults(func=_evaluate)

    predict = add_command(
        "predict", help="the emotion of each face in photos, videos and folders")
    predict.add_argument("images", nargs="+",
                         help="image files (any size, colour or bit depth), videos "
                              "(.mp4, .avi, .mov ...) or folders of them")
    model_options(predict)
    predict.add_argument("--json", action="store_true",
                         help="print JSON: image, box, score, landmarks, label, "
                              "probabilities (and frame, time, face for videos)")
    predict.add_argument("--csv", metavar="FILE", help="also write the table of faces here")
    predict.add_argument("--annotate", metavar="DIR",
                         help="also write each photo (PNG) and video (MP4) with the faces' "
                              "boxes and labels drawn, into DIR (never an input's folder; "
                              "existing files only with --overwrite)")
    predict.add_argument("--no-detect", action="store_true",
                         help="take each whole image as one face, resized to 48x48 (by "
                              "default faces are found, except in 48x48 images)")
    predict.add_argument("--detect-faces", action="store_true", help=argparse.SUPPRESS)
    detector_options(predict, "photos", 1280)
    predict.add_argument("--summary", action="store_true",
                         help="instead of one line per face: one per face of each video "
                              "(first and last time, frames, dominant emotion, share of "
                              "time in each)")
    predict.add_argument("--overwrite", action="store_true",
                         help="let --annotate replace files already in its folder")
    predict.add_argument("--every", type=_positive_int, default=1,
                         help="analyse every N-th frame of a video")
    predict.add_argument("--fps", type=float, default=None,
                         help="analyse this many frames per second of video instead")
    predict.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on this Dask scheduler (e.g. tcp://host:8786), one task "
                              "per photo or video")
    predict.add_argument("--progress", action="store_true",
                         help="progress bars on stderr even when it is not a terminal")
    predict.set_defaults(func=_predict)

    live = add_command(
        "live", help="a webcam, a stream URL or a video file analysed as it plays: one "
                     "JSON line per analysed frame")
    live.add_argument("source", nargs="?", default="0",
                      help="a webcam index (0), a device (/dev/video0), a stream URL "
                           "(rtsp://, http://: the only input that reaches the network) "
                           "or a video file, played at its own frame rate")
    model_options(live)
    live.add_argument("--max-fps", type=_positive_float, default=None,
                      help="analyse at most this many frames a second")
    live.add_argument("--fast", action="store_true",
                      help="read a video file as fast as it is analysed (no frame "
                           "dropped) instead of at its own frame rate")
    detector_options(live, "frames", "auto: 1280, stepping down to 960 and 640 while the "
                     "analysis falls behind the source")
    live.add_argument("--annotate-video", metavar="FILE.mp4",
                      help="also write the analysed frames with boxes and labels")
    live.add_argument("--overwrite", action="store_true",
                      help="let --annotate-video replace an existing file")
    live.add_argument("--show", action="store_true",
                      help="show the annotated frames in a window (q quits); needs OpenCV "
                           "with a GUI: the opencv-python-headless build that fer_sklearn "
                           "installs has none")
    live.add_argument("--summary", action="store_true",
                      help="instead of a line per frame: at the end, one line per face "
                           "(dominant emotion, share of time in each)")
    live.add_argument("--json", action="store_true",
                      help="with --summary: the summary as one JSON object")
    live.set_defaults(func=_live)
    return parser
