"""The reliability diagram: does a predicted P(correct) of 0.8 come true 80% of the time?

A library function (no command line): evaluate.py draws it from utils.metrics.reliability_bins.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw_reliability_diagram(bins, path, title):
    """Writes a PNG: share of correct answers against mean predicted P(correct) per bin, over the diagonal
    of perfect calibration, with the number of predictions per bin as a histogram below.

    Args:
      bins: list of dicts low, high, count, mean_p, frac_correct (utils.metrics.reliability_bins); bins
        with count 0 are drawn as empty.
      path: where the PNG goes.
      title: the figure's title (e.g. the run and its ECE).
    """
    filled = [b for b in bins if b["count"]]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1, label="perfect calibration")
    top.bar([b["low"] for b in filled], [b["frac_correct"] for b in filled],
            width=[b["high"] - b["low"] for b in filled], align="edge", color="tab:blue", alpha=0.25,
            edgecolor="tab:blue", linewidth=0.8)
    top.plot([b["mean_p"] for b in filled], [b["frac_correct"] for b in filled], marker="o", color="tab:blue",
             label="share correct at the bin's mean prediction")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("share of correct answers")
    top.set_title(title)
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)

    bottom.bar([b["low"] for b in bins], [b["count"] for b in bins],
               width=[b["high"] - b["low"] for b in bins], align="edge", color="gray", edgecolor="white")
    bottom.set_xlabel("predicted P(correct)")
    bottom.set_ylabel("predictions")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    finally:
        plt.close(figure)
