"""Draw ``docs/images/readme_predictions.png``: the shipped CNN on twelve
bundled PublicTest faces (rerun it whenever the shipped weights change)::

    python scripts/make_readme_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fer_sklearn import load_fer2013_sample, load_pretrained  # noqa: E402
from fer_sklearn.plotting import plot_predictions  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "readme_predictions.png"


def main():
    faces = load_fer2013_sample()
    clf = load_pretrained("cnn")
    X, y = faces.data[:12], faces.target[:12]
    fig = plt.figure(figsize=(15.4, 2.7))
    plot_predictions(X, clf.predict_proba(X), y, classes=clf.classes_,
                     n_faces=12, n_cols=6, fig=fig)
    fig.savefig(OUT, dpi=90, bbox_inches="tight")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
