"""The bundled sample: 900 PublicTest faces shipped in the package."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ._fer2013 import DESCR
from ._common import EMOTIONS, IMAGE_SIZE

SAMPLE_FILE = "fer2013_sample.npz"


def load_fer2013_sample(*, return_X_y=False):
    """Load the sample of FER2013 that ships inside the package.

    900 faces drawn, stratified by emotion, from the PublicTest
    rows, so that examples, the docs and ``fer-sklearn demo`` run with no
    download. It was made by ``scripts/make_sample.py``. The shipped
    pretrained models never trained on these faces (they are PublicTest
    rows, used only for model selection).

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The same fields as :func:`load_fer2013`.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from fer_sklearn.datasets import load_fer2013_sample
    >>> sample = load_fer2013_sample()
    >>> sample.images.shape[1:]
    (48, 48)
    """
    with resources.files("fer_sklearn.datasets").joinpath("data", SAMPLE_FILE).open(
        "rb"
    ) as handle, np.load(handle, allow_pickle=False) as stored:
        pixels = np.ascontiguousarray(stored["pixels"], dtype=np.uint8)
        target = stored["target"].astype(np.int64)
        usage = stored["usage"]
    if return_X_y:
        return pixels, target
    return Bunch(
        data=pixels,
        images=pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE),
        target=target,
        usage=usage,
        target_names=np.array(EMOTIONS),
        filename=SAMPLE_FILE,
        DESCR=DESCR + "\nThis is the bundled stratified PublicTest sample.\n",
    )
