"""ONNX Runtime: sessions with the library's thread settings, and a fitted
classifier's graph run on face images.

numpy in, numpy out: this module imports neither torch nor scikit-learn, so
that whatever only predicts (``analyze``, ``fer-sklearn predict``) starts
without them. :class:`fer_sklearn.ONNXClassifier` (the scikit-learn
estimator) and the face detector run their graphs through it.

A classifier's graph (written by ``fer_sklearn._onnx.export_graph``) takes

- ``pixels``: float32 ``(n, 1, 48, 48)``, on the scale of the ``X`` given to
  ``fit`` (the normalisation is inside the graph);
- ``columns``: int64 ``(views, 48)``, the column order of each view of a
  face: one row ``0..47`` for the face as it is, and a second ``47..0`` for
  its mirror image (flip averaging: the views' logits are averaged inside
  the graph);

and returns ``probabilities``, ``(n, n_classes)``. One graph thus serves
``tta=True`` and ``tta=False``.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["cpu_threads", "one_thread_here", "make_session", "FaceGraph", "read_shipped_graph",
           "shipped_graph"]


_LOCAL = threading.local()


def one_thread_here():
    """From now on, :func:`cpu_threads` is 1 in the calling thread: the
    initializer of a pool whose threads together use the cores (each of
    its threads runs single-threaded sessions)."""
    _LOCAL.threads = 1


def cpu_threads():
    """The thread count torch would use in this process: torch's own where
    torch is loaded (``torch.set_num_threads`` included), else
    ``$OMP_NUM_THREADS`` (a Dask worker sets it to its thread count), else
    the CPUs this process may run on; 1 in a thread that called
    :func:`one_thread_here`."""
    if getattr(_LOCAL, "threads", None):
        return _LOCAL.threads
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        return int(torch.get_num_threads())
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def make_session(graph, threads):
    """An ONNX Runtime CPU session of ``graph`` (bytes) on ``threads``
    intra-op threads that sleep between runs.

    ONNX Runtime's threads spin (busy-wait) after each run by default, and
    took the cores from torch running beside them
    (``benchmarks/bench_dask.py --parts analyze``, serial: 92.3 s spinning,
    65.1 s not); with ``threads=1`` no pool is made, so a single-threaded
    Dask worker stays single-threaded.
    """
    try:
        import onnxruntime
    except ImportError as exc:  # a dependency: a broken install
        raise ImportError(
            "fer_sklearn runs its graphs on ONNX Runtime (installed with "
            "fer_sklearn): pip install onnxruntime."
        ) from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


#: faces a thread at least, for a run to be cut across threads (see FaceGraph.run)
SPLIT_FACES = 8

_IDENTITY = np.arange(48, dtype=np.int64)
_VIEWS = {False: _IDENTITY[None], True: np.stack([_IDENTITY, _IDENTITY[::-1]])}


class FaceGraph:
    """A classifier's graph, run on batches of face images.

    Parameters
    ----------
    graph : bytes
        The serialised ONNX model (see the module docstring).
    tta : bool
        Average each face with its mirror image.
    batch_size : int
        Faces per run of the graph.
    n_threads : int or None
        ONNX Runtime's intra-op threads; None follows :func:`cpu_threads`
        at each call.

    The session is made on first use, one per thread count, and is not
    pickled (a copy makes its own).
    """

    def __init__(self, graph, *, tta, batch_size=64, n_threads=None, classes=None,
                 pixel_mean=None, pixel_std=None):
        self.graph = bytes(graph)
        self.classes_ = None if classes is None else np.asarray(classes)
        self.pixel_mean, self.pixel_std = pixel_mean, pixel_std
        self.tta = bool(tta)
        self.batch_size = int(batch_size)
        self.n_threads = n_threads
        self._sessions = {}
        self._lock = threading.Lock()

    def session(self, threads=None):
        """The session on ``threads`` intra-op threads (None: the engine's
        thread count), made on first use."""
        if threads is None:
            threads = self.threads()
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = make_session(self.graph, threads)
            return self._sessions[threads]

    def threads(self):
        """The threads a run uses: ``n_threads``, else :func:`cpu_threads`."""
        return cpu_threads() if self.n_threads is None else int(self.n_threads)

    def predict_proba(self, X):
        """Probabilities for faces as the estimators take them (checked:
        shape, values, and the pixel scale where the normalisation is known)."""
        from ._validation import check_images, check_pixel_scale

        images = check_images(X)
        if self.pixel_mean is not None:
            images = check_pixel_scale(images, self.pixel_mean, self.pixel_std)
        return self.run(images)

    def run(self, images):
        """Probabilities for float32 images of shape ``(n, 1, 48, 48)``.

        On ``threads`` > 1, a batch of at least :data:`SPLIT_FACES` faces a
        thread is cut into batches of at most ``batch_size`` that run side by
        side, one thread each, on a single-threaded session: no pool to wake
        for each operator (the shipped rnn ran 1.35x and 1.76x the faces/s
        of one session on the same threads, the CNNs 0.96x to 1.40x, in two
        runs of ``benchmarks/bench_inference.py --parts threads``). Fewer
        faces run on one session using all the threads (lower latency for
        one face)."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        columns = _VIEWS[self.tta]
        threads = self.threads()
        split = threads > 1 and len(images) >= SPLIT_FACES * threads
        session = self.session(1 if split else threads)

        def part(start, stop):
            return session.run(["probabilities"],
                               {"pixels": images[start:stop], "columns": columns})[0]

        if split:
            count = max(threads, -(-len(images) // self.batch_size))
            bounds = np.linspace(0, len(images), count + 1).round().astype(int)
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(part, bounds[:-1], bounds[1:]))
        else:
            starts = range(0, len(images), self.batch_size)
            parts = [part(start, start + self.batch_size) for start in starts]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_sessions"], state["_lock"] = {}, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


def read_shipped_graph(name):
    """A shipped model's graph (bytes, sha256-checked), its manifest record
    (``classes``, ``pixel_mean``, ``pixel_std``, ``dtype`` ...) and its
    shipped ``tta``."""
    from ._shipped import read_verified

    entry, graph = read_verified(name, "onnx")
    return graph, entry["onnx"], bool(entry.get("defaults", {}).get("tta", False))


def shipped_graph(name, *, tta=None, batch_size=64, n_threads=None):
    """A shipped model's graph with its classes and normalisation, ready for
    ``predict_proba``: what ``analyze`` and the command line predict with,
    without scikit-learn or torch. ``tta`` None is the shipped default."""
    from ._validation import check_tta

    graph, record, default_tta = read_shipped_graph(name)
    tta = default_tta if tta is None else check_tta(tta)
    return FaceGraph(graph, tta=tta, batch_size=batch_size, n_threads=n_threads,
                     classes=record["classes"], pixel_mean=record["pixel_mean"],
                     pixel_std=record["pixel_std"])
