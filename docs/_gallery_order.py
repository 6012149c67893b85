"""The order of the examples within each section of the gallery: the
listed files first, in this order, then any other by name."""

ORDER = [
    "plot_quickstart.py",
    "plot_label_merging.py",
    "plot_grid_search.py",
    "plot_distillation.py",
    "plot_rnn.py",
    "plot_calibration.py",
    "plot_study_figures.py",
    "plot_study_vs_default.py",
    "plot_photos_and_videos.py",
    "plot_live_video.py",
]


class ExampleOrder:
    """sphinx-gallery's ``within_subsection_order`` sort key."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (0, ORDER.index(filename), filename)
        return (1, 0, filename)

    def __repr__(self):
        # sphinx-gallery compares the configuration between builds by repr
        return f"{type(self).__name__}()"
