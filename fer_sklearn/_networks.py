"""Torch modules for 48x48 greyscale faces.

These networks know nothing of scikit-learn: they take a float tensor of
shape ``(batch, 1, 48, 48)`` and return logits of shape
``(batch, n_classes)``. The estimators in :mod:`fer_sklearn._classifiers`
wrap them.
"""

import torch
from torch import nn

__all__ = ["FERNet", "StudyCNN", "RowRNN", "FERModel", "NETWORKS"]


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
    """

    def __init__(self, n_classes=6):
        super().__init__()
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
            nn.Flatten(),
            nn.Linear(128 * 6 * 6, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, n_classes),
        )

    def forward(self, X):
        return self.classifier(self.features(X))


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
        cells = {"gru": nn.GRU, "lstm": nn.LSTM}
        if cell not in cells:
            raise ValueError(f"cell must be one of {sorted(cells)}; got {cell!r}.")
        if sweeps not in (1, 2):
            raise ValueError(f"sweeps must be 1 or 2; got {sweeps!r}.")
        self.sweeps = sweeps
        directions = 2 if bidirectional else 1
        self.rnns = nn.ModuleList(
            cells[cell](
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
        images = X[:, 0]
        sequences = [images, images.transpose(1, 2)][: self.sweeps]
        summaries = []
        for rnn, sequence in zip(self.rnns, sequences):
            outputs, _ = rnn(sequence.contiguous())
            # mean and max over time: every row counts, not only the last
            summaries += [outputs.mean(dim=1), outputs.amax(dim=1)]
        return self.classifier(torch.cat(summaries, dim=1))


#: Networks selectable by name in the estimators.
NETWORKS = {"fernet": FERNet, "study": StudyCNN, "rnn": RowRNN}


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
        X = (X - self.pixel_mean) / self.pixel_std
        if self.channels_last:
            X = X.contiguous(memory_format=torch.channels_last)
        return self.network(X)

    def get_extra_state(self):
        return {"classes": list(self.classes)}

    def set_extra_state(self, state):
        self.classes = list(state["classes"])
