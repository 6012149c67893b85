"""``FERCNNClassifier`` and ``FERRNNClassifier``: skorch nets for faces.

The two public estimators: their signatures, defaults and documentation.
What they share lives in ``_base`` (input and label handling, training,
prediction), ``_distillation`` and ``_persistence``.
"""

import torch

from ._base import _FERClassifierBase
from ._networks import FERNet, ReNet
from ._persistence import ESTIMATORS, classifier_from_checkpoint, classifier_from_checkpoint_file
from ._training import NesterovSGD, _PrintLog, encoded_accuracy

#: Names that models pickled before the split into _base, _distillation,
#: _persistence and _training look up here.
_PICKLED_HERE = (_PrintLog, encoded_accuracy)

__all__ = ["FERCNNClassifier", "FERRNNClassifier", "NesterovSGD", "classifier_from_checkpoint",
           "classifier_from_checkpoint_file"]


_CNN_DOC = """Convolutional network classifier for 48x48 faces (skorch).

A :class:`skorch.NeuralNetClassifier` that accepts face images as scikit-learn
data: ``X`` of shape ``(n, 2304)``, ``(n, 48, 48)`` or ``(n, 1, 48, 48)``,
uint8 or float, and ``y`` as any labels (ints, the non-contiguous codes left
by :class:`LabelMerger`, or strings). ``predict`` returns labels of the same
kind. Every skorch parameter (``lr``, ``max_epochs``, ``callbacks``,
``module__*``, ``optimizer__*``, ``warm_start``, ``device`` ...) works as
usual.

Parameters
----------
module : torch.nn.Module class or {{"fernet", "study"}}, default={module}
    The network. ``"fernet"`` (:class:`fer_sklearn.networks.FERNet`) is the
    default VGG-style network with BatchNorm; ``"study"`` is the course
    study's Keras CNN. Its ``n_classes`` is set from ``y``; other
    arguments go through ``module__*`` (e.g. ``module__width=48``).
lr : float, default={lr}
    Learning rate.
max_epochs : int, default={max_epochs}
    Epochs per ``fit``.
batch_size : int, default={batch_size}
optimizer : torch optimizer class, default={optimizer}
    With ``optimizer__*`` parameters{optimizer_note}.
train_split : callable or None, default=None
    None trains on all of ``X``: skorch's own default would silently hold
    out 20% inside every GridSearchCV fold. Pass e.g.
    ``skorch.dataset.ValidSplit(0.1, stratified=True)`` or
    ``skorch.helper.predefined_split(skorch.dataset.Dataset(X_valid,
    y_valid))`` for validation curves in ``history``: ``X_valid`` and
    ``y_valid`` as ``fit`` takes them (raw faces, labels like ``y``).
augment_shift : float, default=0.1
    Largest random shift, as a fraction of the image size (training only).
augment_rotation : float, default=10.0
    Largest random rotation in degrees (training only).
augment_zoom : float, default=0.1
    Largest random relative zoom (training only).
augment_aspect : float, default=0.0
    Largest random change of a face's width against its height, on a log
    scale (0.4: from 1/1.4 to 1.4 times as wide; training only), as photos
    squashed or stretched come.
augment_photo : float in [0, 1], default=0.0
    Chance that a training face also gets one photo shift of random
    strength: a Gaussian or motion blur, JPEG compression, low light, a
    gamma curve, light from one side, noise or a lower resolution (see
    ``fer_sklearn._augment.random_photo``).
augment_flip : bool, default=True
    Random horizontal flips (training only). Set them all to 0/False to
    train without augmentation.
consistency_weight : float >= 0, default=0.0
    A consistency term in the manner of AugMix (Hendrycks et al., 2020):
    when above 0, each training batch is also seen with a photo shift on
    every face (as ``augment_photo=1`` draws them, after the same shift,
    rotation, zoom and flip), and the loss adds this weight times the
    Jensen-Shannon divergence between the two views' probabilities. The
    labels (and the teacher) are learnt from the first view only, which
    gets ``augment_photo`` as usual (0 keeps it free of photo shifts).
    Costs a second pass of every batch through the network.
tta : bool, default=False
    Test-time augmentation: average the logits of each face and its mirror
    image at prediction.
lr_schedule : {{"cosine", None}}, default="cosine"
    Cosine decay of the learning rate over the ``max_epochs`` of each fit
    call (:class:`fer_sklearn.callbacks.CosineLR`); None keeps ``lr``.
clip_grad_norm : float or None, default={clip_grad_norm}
    Largest L2 norm of the gradient of all parameters, through skorch's
    :class:`~skorch.callbacks.GradientNormClipping`; None does not clip.
mixed_precision : bool, default=False
    bfloat16 autocast on CPU (float16 on CUDA): about 2x faster on CPUs with
    AVX-512 BF16, slower on others.
teacher : str, fitted classifier or None, default=None
    Knowledge distillation: the name of a shipped model (e.g.
    ``"cnn-ensemble"``, loaded in ``fit`` with its shipped ``tta`` and
    temperature 1: its network's own probabilities) or a fitted classifier with
    ``predict_proba`` and the same ``classes_`` as ``y``, whose
    probabilities on the training faces (computed once per ``fit``) the
    network also learns from. Wrap a fitted teacher in
    :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` keeps it
    fitted. ``fit(X, y, teacher_proba=P)`` gives precomputed probabilities
    instead.
distill_weight : float in [0, 1], default=0.5
    When distilling, the loss is ``(1 - distill_weight)`` times the
    criterion's loss on ``y`` plus ``distill_weight`` times
    ``T**2 * KL(teacher_T || student_T)``, both sides softened at
    temperature ``T``.
distill_temperature : float > 0, default=2.0
    ``T`` above: ``softmax(log(p) / T)`` for the teacher's probabilities
    ``p``, ``softmax(logits / T)`` for the network's.
rescale : float or None, default=None
    None standardises the pixels with the mean and standard deviation of
    the training images (learned in ``fit``). A number multiplies the
    pixels by it and subtracts nothing, as Keras' ``rescale=1/255`` does
    (grey levels 0..255 become 0..1): the course study's scaling.
temperature : float > 0 or (a, b, d), default=1.0
    Calibration of the probabilities: ``predict_proba`` returns
    ``softmax(logits / T)`` (the logits averaged over the views with
    ``tta``; for an ensemble, the log of its mean probabilities). A number
    is ``T`` for every face: 1 leaves the network's probabilities as they
    are, below 1 sharpens them, above 1 softens them. Three numbers are a
    curve, ``T = exp(a + b * c + d * c**2)`` for a face whose top
    probability at temperature 1 is ``c``: it can sharpen the confident
    faces more than the unsure ones. ``T`` is positive either way, so
    ``predict`` is the same for every value. The shipped models set the
    value fitted on PublicTest (see :func:`pretrained_info`); training
    ignores it.
random_state : int or None, default=None
    Seed for weights, shuffling, dropout and augmentation: the same seed
    and data give the same predictions. torch's global RNG is restored
    after ``fit``.
verbose : int, default=0
    1 prints skorch's epoch table and a progress bar over batches.
**kwargs
    Any other :class:`skorch.NeuralNetClassifier` parameter.

Attributes
----------
classes_ : ndarray
    The sorted labels seen in ``fit``.
pixel_mean_, pixel_std_ : float
    Input normalisation learned in ``fit`` (the network sees
    ``(X - pixel_mean_) / pixel_std_``; 0 and ``1 / rescale`` when
    ``rescale`` is set).
n_features_in_ : int
    2304 (48x48 pixels).
module_ : fer_sklearn.networks.FERModel
    The trained network with its normalisation and labels.
history : skorch.History
    Per-epoch losses (and validation scores with a ``train_split``).

See Also
--------
{other} : the same estimator with {other_net}.
ONNXClassifier : the fitted classifier on ONNX Runtime, for prediction.
load_pretrained : the shipped, fitted models.
LabelMerger : Disgust merged into Angry, for 6 classes.

Examples
--------
>>> from fer_sklearn import {name}, load_fer2013_sample
>>> faces = load_fer2013_sample()
>>> clf = {name}(max_epochs=1, random_state=0).fit(faces.data[:64], faces.target[:64])
>>> clf.predict(faces.data[:3]).shape
(3,)
"""


def _own_arguments(arguments):
    """A subclass's ``__init__`` arguments (``locals()``) as keywords for
    ``_FERClassifierBase.__init__``, ``**kwargs`` spread."""
    arguments = dict(arguments)
    arguments.pop("self")
    arguments.pop("__class__", None)
    return {**arguments.pop("kwargs"), **arguments}


class FERCNNClassifier(_FERClassifierBase):
    __doc__ = _CNN_DOC.format(
        name="FERCNNClassifier",
        other="FERRNNClassifier",
        other_net="a recurrent network",
        module="FERNet",
        lr=0.05,
        max_epochs=30,
        batch_size=64,
        optimizer="NesterovSGD",
        clip_grad_norm=None,
        optimizer_note=(
            ": SGD with Nesterov momentum 0.9 and weight decay 5e-4; any torch\n"
            "    optimizer class works (e.g. ``torch.optim.Adam``)"
        ),
    )
    _channels_last = True

    # every parameter in the signature (help(), IDEs, the API page); the
    # shared ones are stored by _FERClassifierBase
    def __init__(
        self,
        module=FERNet,
        *,
        lr=0.05,
        max_epochs=30,
        batch_size=64,
        optimizer=NesterovSGD,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_aspect=0.0,
        augment_photo=0.0,
        augment_flip=True,
        consistency_weight=0.0,
        tta=False,
        lr_schedule="cosine",
        clip_grad_norm=None,
        mixed_precision=False,
        teacher=None,
        distill_weight=0.5,
        distill_temperature=2.0,
        rescale=None,
        temperature=1.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(**_own_arguments(locals()))


class FERRNNClassifier(_FERClassifierBase):
    __doc__ = _CNN_DOC.format(
        name="FERRNNClassifier",
        other="FERCNNClassifier",
        other_net="a convolutional network",
        module="ReNet",
        lr=0.003,
        max_epochs=20,
        batch_size=64,
        optimizer="torch.optim.AdamW",
        clip_grad_norm=5.0,
        optimizer_note=" (``optimizer__weight_decay=0.05`` by default)",
    ).replace(
        "Convolutional network classifier for 48x48 faces (skorch).",
        "Recurrent network classifier for 48x48 faces (skorch).\n\n"
        "The default network (:class:`fer_sklearn.networks.ReNet`) has no "
        "convolution:\neach layer cuts the map into blocks and runs a "
        "bidirectional GRU along every\nrow of blocks, then along every "
        "column. ``module__hidden_sizes``,\n``module__patch`` and "
        '``module__cell`` ("gru" or "lstm") set its shape;\n``module="rnn"`` '
        "(:class:`fer_sklearn.networks.RowRNN`) reads whole rows and columns\n"
        "instead.",
    ).replace(
        'module : torch.nn.Module class or {"fernet", "study"}, default=ReNet\n'
        '    The network. ``"fernet"`` (:class:`fer_sklearn.networks.FERNet`) is the\n'
        "    default VGG-style network with BatchNorm; ``\"study\"`` is the course\n"
        "    study's Keras CNN.",
        'module : torch.nn.Module class or {"renet", "rnn"}, default=ReNet\n'
        "    The network.",
    )

    def __init__(
        self,
        module=ReNet,
        *,
        lr=0.003,
        max_epochs=20,
        batch_size=64,
        optimizer=torch.optim.AdamW,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_aspect=0.0,
        augment_photo=0.0,
        augment_flip=True,
        consistency_weight=0.0,
        tta=False,
        lr_schedule="cosine",
        clip_grad_norm=5.0,
        mixed_precision=False,
        teacher=None,
        distill_weight=0.5,
        distill_temperature=2.0,
        rescale=None,
        temperature=1.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        # the shipped ReNet's recipe: AdamW with weight decay 0.05, clipping at 5
        kwargs.setdefault("optimizer__weight_decay", 0.05)
        super().__init__(**_own_arguments(locals()))


ESTIMATORS.update(cnn=FERCNNClassifier, rnn=FERRNNClassifier)
