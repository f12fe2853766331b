"""What the programs in plots/ share (no TensorFlow): runs as the plots see them, the forest plot, the
reliability diagram, labels. A library: the programs import it, it imports no program."""
