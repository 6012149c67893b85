import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import FunctionTransformer, Pipeline
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger, load_fer2013_sample
from fer_sklearn.networks import Ensemble, FERModel, FERNet, ReNet, RowRNN, StudyCNN

FAST = {
    FERCNNClassifier: dict(max_epochs=1, module__width=4, batch_size=32),
    FERRNNClassifier: dict(max_epochs=1, module__hidden_sizes=(4, 8), batch_size=32),
}
CLASSIFIERS = list(FAST)


def make(cls, **params):
    return cls(**{**FAST[cls], "random_state": 0, **params})


@pytest.fixture(scope="module")
def faces():
    sample = load_fer2013_sample()
    keep = np.concatenate([np.flatnonzero(sample.target == c)[:12] for c in range(7)])
    return sample.data[keep], sample.target[keep], sample.target_names


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_merged_codes_are_decoded(cls, faces):
    X, y, _ = faces
    y6 = LabelMerger().fit_transform(y)
    clf = make(cls).fit(X, y6)
    assert clf.classes_.tolist() == [0, 2, 3, 4, 5, 6]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 6) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    predicted = clf.predict(X)
    assert set(predicted) <= {0, 2, 3, 4, 5, 6}
    np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(1)])
    last = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert last.out_features == 6


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_string_labels_and_input_shapes(cls, faces):
    X, y, names = faces
    labels = names[y]
    clf = make(cls).fit(X.reshape(-1, 48, 48), labels)
    assert clf.classes_.tolist() == sorted(set(labels))
    for shaped in (X, X.reshape(-1, 48, 48), X.reshape(-1, 1, 48, 48), X.astype(float)):
        predicted = clf.predict(shaped)
        assert predicted.dtype.kind == "U" and set(predicted) <= set(labels)
    # trained on 0..255: faces scaled to 0..1 are refused, not misread
    with pytest.raises(ValueError, match="trained on grey levels 0..255"):
        clf.predict(X / 255.0)
    np.testing.assert_array_equal(clf.predict(X), clf.predict(X.reshape(-1, 1, 48, 48)))
    np.testing.assert_array_equal(clf.predict(X), clf.predict(torch.from_numpy(X)))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_normalisation_is_learned(cls, faces):
    X, y, _ = faces
    raw = make(cls).fit(X, y)
    scaled = make(cls).fit(X / 255.0, y)
    assert raw.pixel_mean_ == pytest.approx(X.mean(), rel=1e-4)
    assert scaled.pixel_mean_ == pytest.approx(X.mean() / 255, rel=1e-4)
    assert scaled.pixel_std_ == pytest.approx(raw.pixel_std_ / 255, rel=1e-4)
    # the same faces, scaled differently, give the same network inputs
    np.testing.assert_allclose(
        raw.predict_proba(X), scaled.predict_proba(X / 255.0), atol=1e-4
    )


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_rescale_multiplies_and_subtracts_nothing(cls, faces):
    X, y, _ = faces
    clf = make(cls, rescale=1 / 255).fit(X, y)
    assert (clf.pixel_mean_, clf.pixel_std_) == (0.0, 255.0)
    seen = []
    handle = clf.module_.network.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    clf.predict_proba(X[:2])
    handle.remove()
    expected = X[:2].reshape(-1, 1, 48, 48).astype(np.float32) / 255
    np.testing.assert_allclose(seen[0].float().numpy(), expected, rtol=1e-6)
    for bad in (0, -1.0, float("nan"), True, "1/255"):
        with pytest.raises(ValueError, match="rescale must be None or a positive number"):
            make(cls, rescale=bad).fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_same_seed_same_predictions(cls, faces):
    X, y, _ = faces
    first = make(cls, max_epochs=2).fit(X, y).predict_proba(X)
    state = torch.get_rng_state()
    second = make(cls, max_epochs=2).fit(X, y)
    assert torch.equal(state, torch.get_rng_state()), "fit must restore torch's RNG"
    np.testing.assert_array_equal(first, second.predict_proba(X))
    other = make(cls, max_epochs=2, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_pickle_clone_and_params(cls, faces):
    X, y, _ = faces
    clf = make(cls).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    fresh = clone(clf)
    assert not hasattr(fresh, "pixel_mean_")
    assert fresh.get_params()["random_state"] == 0
    with pytest.raises(NotFittedError):
        fresh.predict(X)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_save_and_load_params_keep_labels(cls, faces, tmp_path):
    X, y, names = faces
    clf = make(cls).fit(X, names[y])
    clf.save_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "h.json")
    new = cls(**FAST[cls])
    new.load_params(f_params=tmp_path / "params.pt", f_history=tmp_path / "h.json")
    np.testing.assert_array_equal(new.classes_, clf.classes_)
    np.testing.assert_allclose(new.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(new.predict(X), clf.predict(X))
    assert len(new.history) == len(clf.history)
    buffer = io.BytesIO()
    clf.save_params(f_params=buffer)
    buffer.seek(0)
    from_buffer = cls(**FAST[cls])
    from_buffer.load_params(f_params=buffer)
    np.testing.assert_array_equal(from_buffer.predict(X), clf.predict(X))


def test_load_params_refuses_a_foreign_file(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="holds no classes and pixel normalisation"):
        FERCNNClassifier().load_params(f_params=tmp_path / "other.pt")


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_partial_fit_and_warm_start_continue(cls, faces):
    X, y, _ = faces
    clf = make(cls).fit(X, y)
    weights = [p.detach().clone() for p in clf.module_.parameters()]
    clf.partial_fit(X, y)
    assert len(clf.history) == 2
    assert any(not torch.equal(a, b) for a, b in zip(weights, clf.module_.parameters()))
    warm = make(cls, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert len(warm.history) == 2
    cold = make(cls).fit(X, y)
    cold.fit(X, y)
    assert len(cold.history) == 1
    fresh = make(cls)
    fresh.partial_fit(X, y, classes=np.arange(7))
    assert fresh.classes_.tolist() == list(range(7))
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[9\]"):
        clf.partial_fit(X[:4], np.array([0, 9, 2, 3]))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_callbacks_history_and_train_split(cls, faces):
    X, y, _ = faces

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    clf = make(
        cls,
        max_epochs=2,
        callbacks=[("count", counter)],
        train_split=ValidSplit(0.25, stratified=True, random_state=0),
    ).fit(X, y)
    assert dict(clf.callbacks_)["count"].epochs == 2
    history = clf.history
    assert len(history) == 2
    for key in ("train_loss", "valid_loss", "valid_acc", "dur"):
        assert all(key in row for row in history), key
    assert 0.0 <= history[-1, "valid_acc"] <= 1.0
    # the learning rate decays along a cosine within each fit call
    assert history[0, "lr"] == clf.lr and 0 < history[1, "lr"] < clf.lr
    no_split = make(cls).fit(X, y)
    assert "valid_acc" not in no_split.history[-1]


def test_valid_acc_compares_encoded_labels(faces):
    X, y, _ = faces
    y6 = LabelMerger().fit_transform(y)  # codes {0, 2, ..., 6}, not column indices
    clf = make(FERCNNClassifier, train_split=ValidSplit(2, stratified=True))
    clf.fit(X, y6)
    _, X_valid = train_test_split_indices(y6)
    expected = np.mean(clf.predict(X[X_valid]) == y6[X_valid])
    assert clf.history[-1, "valid_acc"] == pytest.approx(expected)


def test_predefined_split_takes_faces_and_labels_as_fit_does(faces):
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, y, names = faces
    y6 = LabelMerger().fit_transform(y)  # codes {0, 2, ..., 6}
    fit_on, valid_on = train_test_split_indices(y)
    # raw uint8 rows and merged codes, as fit takes them
    clf = make(FERCNNClassifier, max_epochs=2, train_split=predefined_split(
        Dataset(X[valid_on], y6[valid_on])))
    clf.fit(X[fit_on], y6[fit_on])
    for epoch in (0, 1):
        assert "valid_loss" in clf.history[epoch]
    expected = np.mean(clf.predict(X[valid_on]) == y6[valid_on])
    assert clf.history[-1, "valid_acc"] == pytest.approx(expected)
    # string labels, 48x48 images
    named = make(FERCNNClassifier, train_split=predefined_split(
        Dataset(X[valid_on].reshape(-1, 48, 48), names[y[valid_on]])))
    named.fit(X[fit_on], names[y[fit_on]])
    assert named.history[-1, "valid_acc"] == pytest.approx(
        np.mean(named.predict(X[valid_on]) == names[y[valid_on]]))
    with pytest.raises(ValueError, match=r"y contains labels not seen in fit: \[1\]"):
        make(FERCNNClassifier, train_split=predefined_split(
            Dataset(X[valid_on], y[valid_on]))).fit(X[fit_on], y6[fit_on])
    with pytest.raises(ValueError, match="validation Dataset from train_split has no labels"):
        make(FERCNNClassifier, train_split=predefined_split(
            Dataset(X[valid_on]))).fit(X[fit_on], y6[fit_on])


def train_test_split_indices(y):
    from sklearn.model_selection import StratifiedKFold

    return next(StratifiedKFold(2, shuffle=False).split(np.zeros(len(y)), y))


def test_train_split_default_is_none():
    assert FERCNNClassifier().train_split is None
    assert FERRNNClassifier().train_split is None


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_set_params_module_parameter(cls, faces):
    X, y, _ = faces
    clf = make(cls)
    key, value = (
        ("module__width", 6) if cls is FERCNNClassifier else ("module__hidden_sizes", (6, 8))
    )
    clf.set_params(**{key: value}).fit(X, y)
    assert clf.get_params()[key] == value
    network = clf.module_.network
    if cls is FERCNNClassifier:
        assert network.features[0].out_channels == 6
    else:
        assert network.layers[0].rows.hidden_size == 6


def test_modules_by_name(faces):
    X, y, _ = faces
    study = FERCNNClassifier(module="study", max_epochs=1, optimizer=torch.optim.Adam, lr=1e-3)
    study.fit(X, y)
    assert isinstance(study.module_.network, StudyCNN)
    with pytest.raises(ValueError, match=r"module must be a torch.nn.Module class or one of \['ensemble', 'fernet', 'renet', 'rnn', 'study'\]; got 'vgg'"):
        FERCNNClassifier(module="vgg").fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_sklearn_tools(cls, faces):
    X, y, _ = faces
    y6 = LabelMerger().fit_transform(y)
    pipe = Pipeline([("scale", FunctionTransformer(lambda X: X / 255.0)), ("net", make(cls))])
    scores = cross_val_score(pipe, X, y6, cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()

    key, values = (
        ("module__width", [4, 6]) if cls is FERCNNClassifier
        else ("module__hidden_sizes", [(4,), (4, 8)])
    )
    search = GridSearchCV(make(cls), {"lr": [1e-3, 1e-2], key: values}, cv=2)
    search.fit(X, y6)
    assert set(search.best_params_) == {"lr", key}
    assert len(search.cv_results_["params"]) == 4
    matrix = confusion_matrix(y6, search.predict(X), labels=[0, 2, 3, 4, 5, 6])
    assert matrix.shape == (6, 6) and matrix.sum() == len(X)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_tta_averages_a_face_and_its_mirror(cls, faces):
    X, y, _ = faces
    clf = make(cls).fit(X, y)
    plain = clf.predict_proba(X)
    clf.set_params(tta=True)
    averaged = clf.predict_proba(X)
    mirrored = clf.set_params(tta=False).predict_proba(X.reshape(-1, 48, 48)[:, :, ::-1])
    logits = np.log(plain) + np.log(mirrored)
    expected = np.exp(logits / 2) / np.exp(logits / 2).sum(1, keepdims=True)
    np.testing.assert_allclose(averaged, expected, atol=1e-4)
    assert not np.allclose(averaged, plain)


def test_augmentation_is_off_at_predict(faces):
    X, y, _ = faces
    clf = make(FERCNNClassifier).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_odd_last_batch_trains(faces):
    X, y, _ = faces
    # 33 images with batches of 32 leave one image: BatchNorm needs two
    clf = make(FERCNNClassifier).fit(X[:33], y[:33])
    assert len(clf.history) == 1


BAD_X = [
    (np.zeros((4, 100)), ValueError, r"X must have shape \(n_samples, 2304\), \(n_samples, 48, 48\) or \(n_samples, 1, 48, 48\).*got shape \(4, 100\)"),
    (np.zeros((4, 3, 48, 48)), ValueError, r"got shape \(4, 3, 48, 48\)"),
    (np.zeros((4, 64, 64)), ValueError, r"got shape \(4, 64, 64\)"),
    (np.zeros(2304), ValueError, r"got shape \(2304,\)"),
    (np.zeros((0, 2304)), ValueError, r"0 sample\(s\)"),
    (np.array([["a"] * 2304] * 4), TypeError, r"must hold numeric pixel values.*got dtype <U1"),
]


@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("X, error, pattern", BAD_X)
def test_bad_images(cls, faces, X, error, pattern):
    _, y, _ = faces
    with pytest.raises(error, match=pattern):
        make(cls).fit(X, y[: len(X)] if len(X) else y[:0])


@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(cls, faces, bad):
    X, y, _ = faces
    X = X.astype(float)
    X[5, 100] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity in 1 image\(s\), first at index 5"):
        make(cls).fit(X, y)
    clf = make(cls).fit(faces[0], y)
    with pytest.raises(ValueError, match="first at index 5"):
        clf.predict(X)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_bad_labels(cls, faces):
    X, y, _ = faces
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class: \\[3\\]"):
        make(cls).fit(X, np.full(len(X), 3))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: X has 84 images, y has 83"):
        make(cls).fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        make(cls).fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        make(cls).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="n_samples=1"):
        make(cls).fit(X[:1], y[:1])


def test_study_cnn_initialises_as_keras():
    torch.manual_seed(0)
    keras, default = StudyCNN(), StudyCNN(init="torch")
    layers = [m for m in keras.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 12  # 9 convolutions, 3 dense layers
    for layer in layers:
        assert torch.count_nonzero(layer.bias) == 0  # Keras' zeros
        fan_in = layer.weight[0].numel()
        fan_out = layer.weight.shape[0] * layer.weight[0, 0].numel()
        limit = (6 / (fan_in + fan_out)) ** 0.5  # glorot_uniform's bound
        assert layer.weight.abs().max() <= limit
        assert layer.weight.abs().max() > 0.9 * limit
    first_default = next(m for m in default.modules() if isinstance(m, torch.nn.Conv2d))
    assert torch.count_nonzero(first_default.bias) > 0
    with pytest.raises(ValueError, match="init must be 'keras' or 'torch'; got 'he'"):
        StudyCNN(init="he")


def test_study_cnn_flattens_channels_last():
    net = StudyCNN().eval()
    net.features = torch.nn.Identity()  # feed a feature map directly
    seen = []
    net.classifier[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    features = torch.zeros(1, 128, 6, 6)
    features[0, 3, 1, 2] = 5.0  # channel 3, row 1, column 2
    net(features)
    flat = seen[0][0]
    # Keras' Flatten of (rows, columns, channels): index (1 * 6 + 2) * 128 + 3
    assert flat[(1 * 6 + 2) * 128 + 3] == 5.0 and flat.sum() == 5.0


def test_networks_shapes():
    X = torch.zeros(2, 1, 48, 48)
    assert FERNet(n_classes=5, width=4)(X).shape == (2, 5)
    assert StudyCNN(n_classes=6)(X).shape == (2, 6)
    for cell in ("gru", "lstm"):
        for sweeps in (1, 2):
            net = RowRNN(n_classes=7, hidden_size=8, cell=cell, sweeps=sweeps)
            assert net(X).shape == (2, 7)
    with pytest.raises(ValueError, match="cell must be one of"):
        RowRNN(cell="rnn")
    for patch in (2, (4, 2)):
        net = ReNet(n_classes=6, hidden_sizes=(4, 6), patch=patch)
        assert net(X).shape == (2, 6)
    assert ReNet(n_classes=7, hidden_sizes=(4,), patch=3, cell="lstm")(X).shape == (2, 7)
    with pytest.raises(ValueError, match=r"patch must be an int or one size per layer \(2\); got \(4, 2, 2\)"):
        ReNet(hidden_sizes=(4, 6), patch=(4, 2, 2))
    with pytest.raises(ValueError, match="cell must be one of"):
        ReNet(cell="rnn")
    model = FERModel(FERNet(n_classes=3, width=4), 100.0, 50.0, ["a", "b", "c"])
    state = model.state_dict()
    other = FERModel(FERNet(n_classes=3, width=4))
    other.load_state_dict(state)
    assert other.classes == ["a", "b", "c"] and float(other.pixel_mean) == 100.0


def test_mixed_precision_keeps_float32_probabilities(faces):
    X, y, _ = faces
    clf = make(FERCNNClassifier, mixed_precision=True).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    full = clf.set_params(mixed_precision=False).predict_proba(X)
    # bfloat16 activations, float32 softmax: close to, not equal to, float32
    np.testing.assert_allclose(proba, full, atol=0.05)


def test_renet_sees_the_whole_image():
    # every output of a ReNet layer depends on the opposite corner's pixel
    # (gradients, in float64: the influence fades but is not cut off)
    torch.manual_seed(0)
    layer = ReNet(n_classes=3, hidden_sizes=(4,), patch=2).layers[0].double()
    X = torch.randn(1, 48, 48, 1, dtype=torch.float64, requires_grad=True)
    out = layer(X)
    assert out.shape == (1, 24, 24, 8)
    # (a weighted sum: the plain sum of a LayerNorm output is constant)
    (out[0, 23, 23] * torch.arange(1.0, 9.0, dtype=torch.float64)).sum().backward()
    assert X.grad[0, 0, 0, 0] != 0
    # a row sweep alone would not reach it: the row layer sees one row of blocks
    X.grad = None
    rows, _ = layer.rows(X.reshape(1, 24, 2, 24, 2, 1).permute(0, 1, 3, 2, 4, 5).reshape(24, 24, 4))
    (rows[23, 23] * torch.arange(1.0, 9.0, dtype=torch.float64)).sum().backward()
    assert X.grad[0, 0, 0, 0] == 0 and X.grad[0, 46, 0, 0] != 0


def test_ensemble_averages_member_probabilities():
    torch.manual_seed(0)
    net = Ensemble(n_classes=4, network="fernet", n_members=3,
                   network_params={"width": 4}).eval()
    X = torch.randn(5, 1, 48, 48)
    expected = torch.stack([m(X).softmax(dim=1) for m in net.members]).mean(dim=0)
    torch.testing.assert_close(net(X).softmax(dim=1), expected)
    assert len(net.members) == 3
    with pytest.raises(ValueError, match=r"network must be one of \['fernet', 'renet', 'rnn', 'study'\]; got 'vgg'"):
        Ensemble(network="vgg")
    with pytest.raises(ValueError, match="n_members must be at least 1; got 0"):
        Ensemble(n_members=0)


def test_ensemble_trains_in_a_classifier(faces):
    X, y, _ = faces
    clf = FERCNNClassifier(module="ensemble", module__n_members=2,
                           module__network_params={"width": 4}, max_epochs=1,
                           batch_size=32, random_state=0).fit(X, y)
    assert len(clf.module_.network.members) == 2
    assert clf.predict_proba(X).shape == (len(X), len(np.unique(y)))


def test_gradient_clipping_bounds_each_step(faces):
    X, y, _ = faces
    # one plain SGD step at lr 1 from the same seeded initialisation
    sgd = dict(optimizer=torch.optim.SGD, optimizer__weight_decay=0.0, max_epochs=1,
               batch_size=len(X), module__hidden_sizes=(4, 8), random_state=0)

    def parameters(lr, clip):
        net = FERRNNClassifier(lr=lr, clip_grad_norm=clip, **sgd).fit(X, y)
        return torch.cat([p.detach().flatten() for p in net.module_.parameters()])

    before = parameters(0.0, None)
    assert torch.linalg.vector_norm(parameters(1.0, 1e-3) - before) <= 1e-3 * 1.001
    assert torch.linalg.vector_norm(parameters(1.0, None) - before) > 1e-2
    defaults = FERRNNClassifier().get_params()
    assert defaults["clip_grad_norm"] == 5.0 and defaults["optimizer__weight_decay"] == 0.05
    assert FERCNNClassifier().get_params()["clip_grad_norm"] is None


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_fitting_twice_gives_the_same_model(cls, faces):
    # the seed of a fresh fit does not depend on what the object trained before
    X, y, _ = faces
    clf = make(cls)
    first = clf.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, clf.fit(X, y).predict_proba(X))
    # continued training does not replay the same epochs
    clf.partial_fit(X, y)
    assert not np.array_equal(first, clf.predict_proba(X))


@pytest.mark.parametrize("tta", ["no", 1, None])
def test_tta_must_be_a_bool(faces, tta):
    X, y, _ = faces
    with pytest.raises(ValueError, match=r"tta must be True or False; got"):
        make(FERCNNClassifier, tta=tta).fit(X, y)


def test_sample_weight_is_refused_clearly(faces):
    X, y, _ = faces
    with pytest.raises(TypeError, match=r"does not take sample_weight.*criterion__weight"):
        make(FERCNNClassifier).fit(X, y, sample_weight=np.ones(len(y)))


def test_column_vector_y_warns(faces):
    from sklearn.exceptions import DataConversionWarning

    X, y, _ = faces
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf = make(FERCNNClassifier).fit(X, y.reshape(-1, 1))
    np.testing.assert_array_equal(clf.predict_proba(X), make(FERCNNClassifier).fit(X, y).predict_proba(X))


def test_training_log_sent_to_a_file_is_plain_text():
    import subprocess
    import sys

    code = (
        "from fer_sklearn import FERCNNClassifier, load_fer2013_sample\n"
        "f = load_fer2013_sample()\n"
        "FERCNNClassifier(max_epochs=2, module__width=4, verbose=1, random_state=0)"
        ".fit(f.data[:64], f.target[:64])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "train_loss" in done.stdout and done.stdout.count("\n") >= 4
    assert "\x1b[" not in done.stdout  # no colour codes in the epoch table
    assert "\r" not in done.stderr and "it/s" not in done.stderr  # no progress bar


def test_epoch_table_keeps_colour_on_a_terminal(monkeypatch, capsys):
    from fer_sklearn import _training

    coloured = "\x1b[32m1.2345\x1b[0m"
    monkeypatch.setattr(_training, "_interactive", lambda stream: True)
    _training._print_plain_unless_terminal(coloured)
    monkeypatch.setattr(_training, "_interactive", lambda stream: False)
    _training._print_plain_unless_terminal(coloured)
    assert capsys.readouterr().out == coloured + "\n1.2345\n"


def test_verbose_zero_prints_nothing(faces, capsys):
    X, y, _ = faces
    make(FERCNNClassifier, max_epochs=2).fit(X, y)
    assert capsys.readouterr().out == ""
    make(FERCNNClassifier, max_epochs=2, verbose=1).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


def test_score_with_labels_never_seen_in_fit_is_an_error():
    from fer_sklearn import load_fer2013_sample

    faces = load_fer2013_sample()
    clf = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(
        faces.data[:64], faces.target[:64] % 2)
    with pytest.raises(ValueError, match=r"y contains labels not seen in fit: \[2, 3"):
        clf.score(faces.data[:64], faces.target[:64])
    assert 0 <= clf.score(faces.data[:64], faces.target[:64] % 2) <= 1


def test_seeded_fits_in_threads_equal_the_serial_fit():
    from joblib import Parallel, delayed, parallel_backend

    from fer_sklearn import load_fer2013_sample

    faces = load_fer2013_sample()
    X, y = faces.data[:96], faces.target[:96]

    def fitted_proba(seed):
        clf = FERCNNClassifier(max_epochs=1, module__width=8, random_state=seed)
        return clf.fit(X, y).predict_proba(X[:20])

    serial = fitted_proba(0)
    with parallel_backend("threading", n_jobs=3):
        threaded = Parallel()(delayed(fitted_proba)(0) for _ in range(3))
    for proba in threaded:
        np.testing.assert_allclose(proba, serial, atol=1e-6)
    # and another seed gives another model, in threads too
    with parallel_backend("threading", n_jobs=2):
        other = Parallel()(delayed(fitted_proba)(s) for s in (0, 1))
    assert np.abs(other[0] - other[1]).max() > 1e-3


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_the_signature_names_every_documented_parameter(cls):
    import inspect
    import re

    signature = inspect.signature(cls)
    documented = re.findall(r"^(\w+) : ", cls.__doc__.split("Attributes")[0], re.M)
    assert len(documented) > 15
    missing = [name for name in documented if name not in signature.parameters]
    assert missing == []  # and **kwargs takes skorch's own parameters
    for name in ("tta", "teacher", "distill_weight", "rescale", "random_state", "augment_zoom"):
        assert signature.parameters[name].default == getattr(cls(), name)


@pytest.mark.parametrize("params,message", [
    (dict(augment_photo=1.5), "augment_photo must be a probability"),
    (dict(augment_aspect=-0.1), "augment_aspect must be >= 0"),
    (dict(consistency_weight=-1.0), "consistency_weight must be a finite number >= 0"),
    (dict(consistency_weight=float("nan")), "consistency_weight must be a finite number"),
    (dict(consistency_weight="high"), "consistency_weight must be a finite number"),
])
def test_photo_augmentation_settings_are_checked(faces, params, message):
    X, y, _ = faces
    with pytest.raises(ValueError, match=message):
        make(FERCNNClassifier, **params).fit(X, y)


def test_photo_augmentation_trains_and_is_off_at_predict(faces):
    X, y, _ = faces
    clf = make(FERCNNClassifier, augment_photo=1.0, augment_aspect=0.4).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_consistency_term_is_the_divergence_between_the_two_views(faces, monkeypatch):
    from fer_sklearn import _training

    X, y, _ = faces
    # one step of the whole batch
    params = dict(module__dropout=0.0, mixed_precision=False, batch_size=len(X))
    plain = make(FERCNNClassifier, **params).fit(X, y)
    # with the photo shift made the identity, the second view is the first:
    # the divergence is 0 and BatchNorm sees each face twice, so the same
    # weights come out (to float rounding over a batch twice as large)
    monkeypatch.setattr(_training, "random_photo", lambda X, p, generator=None: X)
    same = make(FERCNNClassifier, consistency_weight=8.0, **params).fit(X, y)
    for a, b in zip(plain.module_.parameters(), same.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    monkeypatch.undo()
    shifted = make(FERCNNClassifier, consistency_weight=8.0, **params).fit(X, y)
    assert max(float((a - b).detach().abs().max()) for a, b in
               zip(plain.module_.parameters(), shifted.module_.parameters())) > 1e-3
    # the term itself: 0 for equal logits, log 2 at most
    logits = torch.randn(5, 7)
    assert float(_training.jensen_shannon(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    far = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert float(_training.jensen_shannon(far, far.flip(1))) == pytest.approx(
        float(np.log(2)), rel=1e-4)
