"""Torch modules for 48x48 greyscale faces.

These networks know nothing of scikit-learn: they take a float tensor of
shape ``(batch, 1, 48, 48)`` and return logits of shape
``(batch, n_classes)``. The estimators in :mod:`fer_sklearn._classifiers`
wrap them.
"""

import math

import torch
from torch import nn

__all__ = ["FERNet", "StudyCNN", "RowRNN", "ReNet", "Ensemble", "FERModel", "NETWORKS"]


_RNN_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


def _rnn_cell(cell):
    """The torch recurrent layer class named by ``cell``."""
    if cell not in _RNN_CELLS:
        raise ValueError(f"cell must be one of {sorted(_RNN_CELLS)}; got {cell!r}.")
    return _RNN_CELLS[cell]


def _conv_bn_relu(in_channels, out_channels):
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class FERNet(nn.Module):
    """The default CNN: a VGG-style network with BatchNorm and dropout.

    Four stages of ``convs_per_stage`` 3x3 convolutions, each followed by
    BatchNorm and ReLU, the first three stages ending in 2x2 max-pooling,
    then global average pooling, dropout and a linear classifier.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits.
    width : int, default=32
        Channels of the first stage; each later stage doubles them.
    convs_per_stage : int, default=2
        3x3 convolutions per stage.
    dropout : float, default=0.3
        Dropout probability before the classifier.
    """

    def __init__(self, n_classes=7, width=32, convs_per_stage=2, dropout=0.3):
        super().__init__()
        layers = []
        in_channels = 1
        for stage in range(4):
            out_channels = width * 2**stage
            for _ in range(convs_per_stage):
                layers += _conv_bn_relu(in_channels, out_channels)
                in_channels = out_channels
            if stage < 3:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(in_channels, n_classes),
        )

    def forward(self, X):
        """Logits of shape ``(batch, n_classes)`` for faces ``X`` of shape
        ``(batch, 1, 48, 48)``."""
        return self.classifier(self.features(X))


class StudyCNN(nn.Module):
    """The course study's Keras CNN, rebuilt in PyTorch.

    Three blocks of three 3x3 same-padded ReLU convolutions with 32, 64 and
    128 filters, each block ending in 2x2 max-pooling, then two dense layers
    of 64 units and the output layer. No BatchNorm, no dropout: as in the
    study.

    Parameters
    ----------
    n_classes : int, default=6
        Number of output logits (the study merged Disgust into Angry).
    init : {"keras", "torch"}, default="keras"
        ``"keras"`` initialises as Keras' ``Conv2D`` and ``Dense`` layers do:
        Glorot-uniform kernels, zero biases. ``"torch"`` keeps PyTorch's
        defaults (Kaiming-uniform with ``a=sqrt(5)`` kernels, uniform biases:
        weights 1.7x smaller than Glorot's in the convolutions after the
        first). With pixels scaled to 0..1 (``rescale=1/255``) the
        ``"torch"`` network did not leave the most frequent class in 14
        epochs of the study's protocol; see the performance page.

    Notes
    -----
    The feature map is flattened in Keras' channels-last order (height,
    width, channels) before the dense layers, so the first dense kernel of
    a Keras model loads here unpermuted. For a network trained from scratch
    the order makes no difference: it permutes the rows of an
    independently initialised matrix.
    """

    def __init__(self, n_classes=6, init="keras"):
        super().__init__()
        if init not in ("keras", "torch"):
            raise ValueError(f"init must be 'keras' or 'torch'; got {init!r}.")
        layers = []
        in_channels = 1
        for out_channels in (32, 64, 128):
            for _ in range(3):
                layers += [
                    nn.Conv2d(in_channels, out_channels, 3, padding=1),
                    nn.ReLU(inplace=True),
                ]
                in_channels = out_channels
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(6 * 6 * 128, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, n_classes),
        )
        if init == "keras":
            for layer in self.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(layer.weight)  # Keras' glorot_uniform
                    nn.init.zeros_(layer.bias)

    def forward(self, X):
        """Logits of shape ``(batch, n_classes)`` for faces ``X`` of shape
        ``(batch, 1, 48, 48)``."""
        # (batch, channels, height, width) -> Keras' (batch, height, width, channels)
        features = self.features(X).permute(0, 2, 3, 1)
        return self.classifier(features.flatten(1))


class RowRNN(nn.Module):
    """A recurrent network that reads a face row by row.

    Each time step is one 48-pixel image row. With ``sweeps=2`` a second
    recurrent layer also reads the columns (a ReNet-style two-direction
    sweep), and the two summaries are concatenated. There is no
    convolutional feature extractor in front.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits.
    hidden_size : int, default=128
        Hidden units per direction.
    num_layers : int, default=1
        Stacked recurrent layers per sweep.
    cell : {"gru", "lstm"}, default="gru"
        Recurrent cell type.
    sweeps : {1, 2}, default=2
        1 reads rows only; 2 reads rows and columns.
    bidirectional : bool, default=True
        Whether each sweep runs in both directions.
    dropout : float, default=0.2
        Dropout between stacked layers and before the classifier.
    """

    def __init__(
        self,
        n_classes=7,
        hidden_size=128,
        num_layers=1,
        cell="gru",
        sweeps=2,
        bidirectional=True,
        dropout=0.2,
    ):
        super().__init__()
        rnn = _rnn_cell(cell)
        if sweeps not in (1, 2):
            raise ValueError(f"sweeps must be 1 or 2; got {sweeps!r}.")
        self.sweeps = sweeps
        directions = 2 if bidirectional else 1
        self.rnns = nn.ModuleList(
            rnn(
                input_size=48,
                hidden_size=hidden_size,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            for _ in range(sweeps)
        )
        summary = sweeps * directions * hidden_size * 2
        self.classifier = nn.Sequential(
            nn.LayerNorm(summary),
            nn.Dropout(dropout),
            nn.Linear(summary, n_classes),
        )

    def forward(self, X):
        """Logits of shape ``(batch, n_classes)`` for faces ``X`` of shape
        ``(batch, 1, 48, 48)``."""
        images = X[:, 0]
        sequences = [images, images.transpose(1, 2)][: self.sweeps]
        summaries = []
        for rnn, sequence in zip(self.rnns, sequences):
            outputs, _ = rnn(sequence.contiguous())
            # mean and max over time: every row counts, not only the last
            summaries += [outputs.mean(dim=1), outputs.amax(dim=1)]
        return self.classifier(torch.cat(summaries, dim=1))


class _ReNetLayer(nn.Module):
    """One ReNet layer: patches, then a recurrent sweep along rows and one
    along columns.

    The map is cut into ``patch x patch`` blocks (each flattened into one
    vector); a bidirectional recurrent layer reads every row of blocks from
    both ends, and a second reads every column of the result, so each output
    position summarises the whole map.
    """

    def __init__(self, in_channels, hidden_size, patch, rnn):
        super().__init__()
        self.patch = patch
        self.rows = rnn(in_channels * patch * patch, hidden_size,
                        batch_first=True, bidirectional=True)
        self.columns = rnn(2 * hidden_size, hidden_size,
                           batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(2 * hidden_size)
        self.out_channels = 2 * hidden_size

    def forward(self, X):
        # X: (batch, height, width, channels)
        batch, height, width, channels = X.shape
        p = self.patch
        h, w = height // p, width // p
        X = X[:, : h * p, : w * p]
        X = X.reshape(batch, h, p, w, p, channels).permute(0, 1, 3, 2, 4, 5)
        X = X.reshape(batch * h, w, p * p * channels)
        X, _ = self.rows(X)  # (batch*h, w, 2H)
        X = X.reshape(batch, h, w, -1).transpose(1, 2).reshape(batch * w, h, -1)
        X, _ = self.columns(X)  # (batch*w, h, 2H)
        X = X.reshape(batch, w, h, -1).transpose(1, 2)
        return self.norm(X)


class ReNet(nn.Module):
    """A purely recurrent network in the manner of ReNet (Visin et al., 2015).

    Where a CNN alternates convolution and pooling, each ReNet layer cuts
    the map into non-overlapping ``patch x patch`` blocks and runs a
    bidirectional recurrent layer along every row of blocks, then another
    along every column, so every position sees the whole image. Three layers
    (by default) take the 48x48 face to 12x12, 6x6 and 3x3; mean and max
    over the last map feed a linear classifier. No convolution anywhere.

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits.
    hidden_sizes : sequence of int, default=(64, 96, 128)
        Hidden units per direction of each layer (one layer per entry).
    patch : int, sequence of int or None, default=None
        Side of the blocks each layer reads: one value for all layers, one
        per layer, or None for 4x4 blocks in the first layer and 2x2 in the
        others (2x2 blocks at 48x48 make every sweep twice as long).
    cell : {"gru", "lstm"}, default="gru"
        Recurrent cell type.
    dropout : float, default=0.2
        Dropout before the classifier.
    """

    def __init__(self, n_classes=7, hidden_sizes=(64, 96, 128), patch=None,
                 cell="gru", dropout=0.2):
        super().__init__()
        rnn = _rnn_cell(cell)
        if patch is None:
            patches = [4] + [2] * (len(hidden_sizes) - 1)
        elif isinstance(patch, int):
            patches = [patch] * len(hidden_sizes)
        else:
            patches = list(patch)
        if len(patches) != len(hidden_sizes):
            raise ValueError(
                f"patch must be an int or one size per layer ({len(hidden_sizes)}); "
                f"got {patch!r}."
            )
        layers = []
        channels = 1
        for hidden, size in zip(hidden_sizes, patches):
            layers.append(_ReNetLayer(channels, int(hidden), int(size), rnn))
            channels = layers[-1].out_channels
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.LayerNorm(2 * channels),
            nn.Dropout(dropout),
            nn.Linear(2 * channels, n_classes),
        )

    def forward(self, X):
        """Logits of shape ``(batch, n_classes)`` for faces ``X`` of shape
        ``(batch, 1, 48, 48)``."""
        X = self.layers(X.permute(0, 2, 3, 1))  # channels last for the sweeps
        X = X.flatten(1, 2)
        return self.classifier(torch.cat([X.mean(dim=1), X.amax(dim=1)], dim=1))


class Ensemble(nn.Module):
    """Several networks of one kind whose class probabilities are averaged.

    The output is the logarithm of the members' mean softmax, so it works
    as logits: its softmax is the averaged probability, and cross-entropy on
    it trains the members jointly. The members differ only by their random
    initialisation (or, when loaded, by the separate runs that trained them).

    Parameters
    ----------
    n_classes : int, default=7
        Number of output logits.
    network : str, default="fernet"
        Name of the members' network: a key of ``fer_sklearn.networks.NETWORKS``
        (``"fernet"``, ``"study"``, ``"rnn"``, ``"renet"``).
    n_members : int, default=2
        How many networks.
    network_params : dict, optional
        Keyword arguments for every member's constructor.
    """

    def __init__(self, n_classes=7, network="fernet", n_members=2, network_params=None):
        super().__init__()
        if network not in NETWORKS or network == "ensemble":
            members = sorted(name for name in NETWORKS if name != "ensemble")
            raise ValueError(f"network must be one of {members}; got {network!r}.")
        if int(n_members) < 1:
            raise ValueError(f"n_members must be at least 1; got {n_members!r}.")
        self.members = nn.ModuleList(
            NETWORKS[network](n_classes=n_classes, **(network_params or {}))
            for _ in range(int(n_members))
        )

    def forward(self, X):
        """Log of the members' mean probabilities, shape ``(batch, n_classes)``
        (a softmax of it gives the averaged probabilities)."""
        log_probs = torch.stack([member(X).float().log_softmax(dim=1)
                                 for member in self.members])
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.members))


#: Networks selectable by name in the estimators.
NETWORKS = {
    "fernet": FERNet,
    "study": StudyCNN,
    "rnn": RowRNN,
    "renet": ReNet,
    "ensemble": Ensemble,
}


class FERModel(nn.Module):
    """A network with its input normalisation and its class labels.

    What an estimator trains and saves: the pixel mean and standard
    deviation are buffers, and the class labels travel as the module's extra
    state, so that ``save_params``/``load_params`` (and ``torch.save`` of
    the state dict) keep everything ``predict`` needs. Inputs are raw pixel
    values, shape ``(batch, 1, 48, 48)``.

    Parameters
    ----------
    network : torch.nn.Module
        Maps normalised ``(batch, 1, 48, 48)`` images to logits.
    pixel_mean, pixel_std : float, default=0.0, 1.0
        Normalisation applied to the input.
    classes : list of int or str, default=()
        Labels of the output columns, in order.
    channels_last : bool, default=False
        Feed the network channels-last tensors (faster convolutions on CPU).
    """

    def __init__(self, network, pixel_mean=0.0, pixel_std=1.0, classes=(),
                 channels_last=False):
        super().__init__()
        self.network = network
        self.register_buffer("pixel_mean", torch.tensor(float(pixel_mean)))
        self.register_buffer("pixel_std", torch.tensor(float(pixel_std)))
        self.classes = list(classes)
        self.channels_last = channels_last
        if channels_last:
            self.network = self.network.to(memory_format=torch.channels_last)

    def forward(self, X):
        """The network's logits for faces ``X`` of shape ``(batch, 1, 48, 48)``
        in the pixel scale ``fit`` saw (normalised here)."""
        X = (X - self.pixel_mean) / self.pixel_std
        if self.channels_last:
            X = X.contiguous(memory_format=torch.channels_last)
        return self.network(X)

    def get_extra_state(self):
        """The labels, saved in the state dict with the weights."""
        return {"classes": list(self.classes)}

    def set_extra_state(self, state):
        """Restore the labels from a state dict (see :meth:`get_extra_state`)."""
        self.classes = list(state["classes"])
