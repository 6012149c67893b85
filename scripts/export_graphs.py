"""Make the shipped models' ONNX Runtime graphs and record them in the manifest.

For each shipped model, its torch weights (``load_pretrained(name)``, with
its shipped ``tta``) are exported as the engine's float32 graph
(``fer_sklearn._onnx.export_graph``) and quantized to int8
(``quantize_graph``) with a seeded random sample of Training faces to
calibrate (never PublicTest, the split measured here). PublicTest accuracy
(7 and 6 classes) and the share of PublicTest labels equal to torch's are
printed for torch, float32 and int8, and the int8 graph ships where it
stays within ``--tolerance`` points of torch on both accuracies and gives
torch's label on at least 99% of the faces; else the float32 graph ships. Writes ``fer_sklearn/pretrained/<name>.onnx``
and the manifest's ``onnx`` record (file, sha256, dtype, calibration,
accuracies, the sha256 of the weights it was made from)::

    python scripts/export_graphs.py --data ../shared/data/fer2013.csv.gz
    python scripts/export_graphs.py cnn --calibration-sizes 128 512 2048 --dry-run

``--float16-weights`` stores a float32 graph's large weights as float16
with a Cast to float32 in the graph (half the bytes; ONNX Runtime folds the
Cast once when the session is made), where that changes no accuracy
figure by more than the tolerance.
"""

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from fer_sklearn import LabelMerger, load_fer2013, load_pretrained, pretrained_info
from fer_sklearn._onnx import INT8_SCHEME, export_graph, quantize_graph
from fer_sklearn._runtime import FaceGraph
from fer_sklearn._validation import check_images

PRETRAINED = Path(__file__).resolve().parents[1] / "fer_sklearn" / "pretrained"


def accuracies(proba, classes, y):
    """(7-class, 6-class) accuracy; 7-class is None for a 6-class model."""
    merger = LabelMerger().fit(np.arange(7))
    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    six_truth = merger.transform(y)
    if len(classes) == 7:
        merged = merger.classes_[merger.merge_proba(proba, classes).argmax(axis=1)]
        return float(np.mean(predicted == y)), float(np.mean(merged == six_truth))
    return None, float(np.mean(predicted == six_truth))


def float16_weights(graph, min_size=1024):
    """``graph`` with its float32 initializers of at least ``min_size``
    values stored as float16, each behind a Cast to float32."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(graph)
    initializers = list(model.graph.initializer)
    casts = []
    for tensor in initializers:
        values = numpy_helper.to_array(tensor)
        if values.dtype != np.float32 or values.size < min_size:
            continue
        stored = tensor.name + "_float16"
        half = numpy_helper.from_array(values.astype(np.float16), stored)
        model.graph.initializer.remove(tensor)
        model.graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [stored], [tensor.name],
                                      to=onnx.TensorProto.FLOAT))
    for node in reversed(casts):
        model.graph.node.insert(0, node)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=None)
    parser.add_argument("--data", default=None, help="FER2013 (else $FER2013_PATH)")
    parser.add_argument("--calibration-sizes", type=int, nargs="+", default=[512],
                        help="Training faces to calibrate on; the first one ships")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.3,
                        help="largest PublicTest accuracy loss (points) for int8")
    parser.add_argument("--float16-weights", nargs="*",
                        default=["cnn", "cnn-ensemble", "rnn", "study"],
                        help="models whose float32 graph may store float16 weights")
    parser.add_argument("--dry-run", action="store_true", help="measure, write nothing")
    args = parser.parse_args(argv)

    manifest_path = PRETRAINED / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    names = args.names or sorted(manifest)
    train = load_fer2013(args.data, usage="Training")
    valid = load_fer2013(args.data, usage="PublicTest")
    X_valid = check_images(valid.data)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(train.data))
    for name in names:
        entry = pretrained_info(name)
        clf = load_pretrained(name)
        started = time.perf_counter()
        torch_proba = clf.predict_proba(X_valid)
        torch_acc = accuracies(torch_proba, clf.classes_, valid.target)
        print(f"{name}: torch (tta={clf.tta}) PublicTest 7/6 classes {torch_acc} "
              f"[{time.perf_counter() - started:.0f} s]")
        graphs = {"float32": export_graph(clf)}
        if name in args.float16_weights:
            graphs["float32 (float16 storage)"] = float16_weights(graphs["float32"])
        for size in args.calibration_sizes:
            calibration = check_images(train.data[np.sort(order[:size])])
            graphs[f"int8, {size} faces"] = quantize_graph(graphs["float32"], calibration)
        scores, agreement = {}, {}
        for label, graph in graphs.items():
            proba = FaceGraph(graph, tta=clf.tta).run(X_valid)
            scores[label] = accuracies(proba, clf.classes_, valid.target)
            agreement[label] = float(np.mean(proba.argmax(1) == torch_proba.argmax(1)))
            print(f"  {label:28s} {len(graph) / 1e6:6.2f} MB  PublicTest 7/6 classes "
                  f"{scores[label]}, labels as torch's {agreement[label]:.4f}")

        def within(label):
            # accuracy within the tolerance, and the labels of torch on 99%
            return agreement[label] >= 0.99 and all(
                a is None or t - a <= args.tolerance / 100
                for a, t in zip(scores[label], torch_acc))

        int8 = f"int8, {args.calibration_sizes[0]} faces"
        # int8 only where the quantizer reached the bulk of the weights (the
        # RNN's GRUs stay float32: its "int8" graph is as large as float32)
        if within(int8) and len(graphs[int8]) < 0.5 * len(graphs["float32"]):
            chosen, dtype = int8, "int8"
        elif "float32 (float16 storage)" in graphs and within("float32 (float16 storage)"):
            chosen, dtype = "float32 (float16 storage)", "float32"
        else:
            chosen, dtype = "float32", "float32"
        print(f"  ships: {chosen}")
        if args.dry_run:
            continue
        graph = graphs[chosen]
        file = f"{name}.onnx"
        (PRETRAINED / file).write_bytes(graph)
        entry["onnx"] = {
            "file": file,
            "sha256": hashlib.sha256(graph).hexdigest(),
            "bytes": len(graph),
            "dtype": dtype,
            "storage": chosen,
            "quantization": INT8_SCHEME if dtype == "int8" else None,
            "calibration": (f"{args.calibration_sizes[0]} Training faces, a random "
                            f"sample (seed {args.seed})") if dtype == "int8" else None,
            "classes": clf.classes_.tolist(),
            "pixel_mean": float(clf.pixel_mean_),
            "pixel_std": float(clf.pixel_std_),
            "made_from_sha256": entry["sha256"],
            "publictest_acc": {label: dict(zip(("7 classes", "6 classes"), acc))
                               for label, acc in {**scores, "torch": torch_acc}.items()},
            "publictest_labels_as_torch": agreement,
        }
        manifest[name] = entry
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        print(f"  wrote {PRETRAINED / file} and {manifest_path}")


if __name__ == "__main__":
    main()
