"""What the programs in plots/ share (no TensorFlow): runs as the plots see them, the forest plot, the
reliability diagram, labels. A library: the programs import it, it imports no program."""

FORMATS = ("png", "svg", "pdf")  # the file formats a plot program offers (matplotlib writes each)


def add_format_option(parser):
    """A plot program's --format option (argparse)."""
    parser.add_argument("--format", default="png", choices=FORMATS, help="file format (default png)")
