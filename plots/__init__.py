"""Programs that turn run folders into figures (plot_*.py, no TensorFlow); what they share is plots/lib/."""
