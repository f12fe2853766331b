""""Problem Clustering" figure of a DKVMN run: which memory slot each skill uses.

    python plots/plot_clusters.py runs/synthetic-dkvmn-20240101-120000

Each skill's correlation weight vector w = softmax(A q . M^k) over the N memory slots
(correlation_weights.csv, from the selected checkpoint) gives its cluster, the arg-max slot,
and a 2-D t-SNE map (Hellinger distance between the weight vectors, seeded), coloured by
cluster and labelled with the skill names. Labels are placed greedily so that they do not
overlap each other, the points or the edge; a label that finds no room falls back to the
skill id (the full names are in the CSV). Writes to --out (default RUN_DIR/figures/):
6_problem_clustering.png and skill_clusters.csv (skill,skill_id,name,cluster,true_concept).
Where the true concepts are known (synthetic data) the adjusted Rand index between the
clusters and the concepts is printed and shown on the figure.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from plots.lib import add_format_option  # noqa: E402
from plots.lib.cluster_map import draw_cluster_map  # noqa: E402
from utils.commands import exit_status  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Problem-clustering figure of a DKVMN run: skills coloured by their arg-max memory slot "
                    "on a t-SNE map of their correlation weights, plus the skill -> cluster table.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a DKVMN run folder written by main.py")
    parser.add_argument("--out", help="output folder (default RUN_DIR/figures)")
    add_format_option(parser)
    return parser.parse_args(argv)


def draw_clusters(args):
    """Writes skill_clusters.csv and the clustering figure of one DKVMN run; prints what it wrote."""
    drawn = draw_cluster_map(args.run_dir, args.out, args.format)
    if drawn["ari"] is not None:
        print("adjusted Rand index (clusters vs true concepts): %.4f" % drawn["ari"])
    print("%d skills in %d clusters (memory slots %s)"
          % (len(drawn["rows"]), len(drawn["clusters"]), ", ".join(map(str, drawn["clusters"]))))
    if drawn["fallbacks"]:
        print("%d labels had no room and show the skill id instead" % drawn["fallbacks"])
    print("wrote %s" % drawn["table_path"])
    print("wrote %s" % drawn["figure_path"])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: draw_clusters(args), writing="the figure")


if __name__ == "__main__":
    sys.exit(main())
