"""scikit-learn's estimator checks on every estimator of the package.

Most of sklearn's checks feed synthetic tabular data, ``X`` of shape
``(n_samples, 2..5)``; the classifiers take 48x48 faces only and refuse
other shapes with a ValueError, by design. Each check that fails for that
reason, or for a documented skorch behaviour, is listed below with its
reason; every other check must pass.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger

NOT_IMAGES = (
    "feeds X of shape (n_samples, k) with k != 2304: not 48x48 faces, "
    "refused with a ValueError that names the accepted shapes"
)
EXPECTED_FAILURES = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_, and stores the **kwargs it is given as attributes: "
        "module__* and the defaults these classes pass on "
        "(iterator_train__shuffle=True; optimizer__weight_decay=0.05 for "
        "FERRNNClassifier)"
    ),
    "check_set_params": (
        "skorch's get_params lists its private _params_to_validate set (the "
        "name does not end in '_'); the check sets it to a number, and skorch's "
        "set_params then fails adding to it (AttributeError)"
    ),
    "check_dtype_object": NOT_IMAGES + "; object arrays are refused (TypeError)",
    "check_positive_only_tag_during_fit": NOT_IMAGES,
    "check_classifiers_one_label": NOT_IMAGES,
    "check_fit2d_1sample": NOT_IMAGES,
    "check_fit2d_1feature": NOT_IMAGES,
    "check_n_features_in_after_fitting": NOT_IMAGES,
    "check_estimators_dtypes": NOT_IMAGES,
    "check_pipeline_consistency": NOT_IMAGES,
    "check_estimators_pickle": NOT_IMAGES,
    "check_f_contiguous_array_estimator": NOT_IMAGES,
    "check_classifier_data_not_an_array": NOT_IMAGES,
    "check_classifiers_classes": NOT_IMAGES,
    "check_estimators_partial_fit_n_features": NOT_IMAGES,
    "check_classifiers_train": NOT_IMAGES,
    "check_supervised_y_2d": NOT_IMAGES + " (on faces: test_classifiers.py::"
    "test_column_vector_y_warns)",
    "check_methods_sample_order_invariance": NOT_IMAGES,
    "check_methods_subset_invariance": NOT_IMAGES,
    "check_dict_unchanged": NOT_IMAGES,
    "check_fit_idempotent": NOT_IMAGES + " (on faces: test_classifiers.py::"
    "test_fitting_twice_gives_the_same_model)",
    "check_fit_check_is_fitted": NOT_IMAGES,
    "check_n_features_in": NOT_IMAGES,
    "check_fit2d_predict1d": NOT_IMAGES,
    "check_fit_score_takes_y": NOT_IMAGES,
    "check_estimators_overwrite_params": NOT_IMAGES,
    "check_dont_overwrite_parameters": NOT_IMAGES,
    "check_estimators_fit_returns_self": NOT_IMAGES,
    "check_readonly_memmap_input": NOT_IMAGES,
    "check_estimators_nan_inf": NOT_IMAGES + " (its clean fit comes first)",
}


ESTIMATORS = [
    FERCNNClassifier(max_epochs=1, module__width=4, random_state=0),
    FERRNNClassifier(max_epochs=1, module__hidden_sizes=(4, 8), random_state=0),
    LabelMerger(),
]


def expected_failed_checks(estimator):
    if isinstance(estimator, LabelMerger):
        return {}
    return {name: reason for name, reason in EXPECTED_FAILURES.items() if reason}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
