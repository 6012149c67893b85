"""Photos and video frames read and searched side by side for ``analyze``.

One pool of threads per ``analyze`` call, as many as torch would use, each
running the face detector single-threaded (``_runtime.one_thread_here``):
side by side, the decoding and search of several images keep the cores busy
where one image at a time on every thread does not
(``benchmarks/bench_inference.py --parts photos video``). Results come back
in the order the work went in, a bounded number ahead, so the tracker of a
video still sees its frames strictly in order and memory stays bounded for
any length of video (at most :data:`FRAMES_AHEAD` frames a thread waiting).
"""

import contextlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["PHOTOS_AHEAD", "FRAMES_AHEAD", "search_pool", "in_order"]

#: photos read and searched ahead, per thread (0: one at a time, on every thread)
PHOTOS_AHEAD = 2
#: video frames searched ahead, per thread (0: one frame at a time, on every thread)
FRAMES_AHEAD = 2


@contextlib.contextmanager
def search_pool():
    """A pool of :func:`~fer_sklearn._runtime.cpu_threads` single-threaded
    threads, or None on one thread (the work is then done in the caller,
    on that thread); shut down, pending work cancelled, on exit."""
    from ._runtime import cpu_threads, one_thread_here

    threads = cpu_threads()
    if threads < 2:
        yield None
        return
    pool = ThreadPoolExecutor(threads, initializer=one_thread_here,
                              thread_name_prefix="fer_sklearn-search")
    pool.threads = threads
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def in_order(jobs, pool, ahead):
    """``(key, future)`` of each ``(key, function, *args)`` of ``jobs``, in
    order, the future holding ``function(*args)``: submitted to ``pool``
    at most ``ahead`` per thread before they are yielded; run here, each
    just before it is yielded, where ``pool`` is None or ``ahead`` is 0.
    ``function`` None gives the future None (work the caller does itself).

    A job's exception is raised by its future's ``result()``. An exception
    of ``jobs`` itself (a video that breaks off) is raised after the jobs
    before it have been yielded. Jobs not yet yielded when the generator is
    closed are cancelled.
    """
    serial = pool is None or ahead < 1
    limit = 0 if serial else ahead * pool.threads
    waiting = deque()
    try:
        try:
            for key, function, *args in jobs:
                if function is None:
                    future = None
                elif serial:
                    future = _run_here(function, args)
                else:
                    future = pool.submit(function, *args)
                waiting.append((key, future))
                if len(waiting) > limit:
                    yield waiting.popleft()
        except Exception:
            while waiting:
                yield waiting.popleft()
            raise
        while waiting:
            yield waiting.popleft()
    finally:
        for _, future in waiting:
            if future is not None:
                future.cancel()


def _run_here(function, args):
    """A finished future of ``function(*args)``, run in this thread."""
    future = Future()
    try:
        future.set_result(function(*args))
    except Exception as exc:  # raised again by future.result(), traceback kept
        future.set_exception(exc)
    return future
